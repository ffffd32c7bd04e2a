"""Deposits and withdrawals go through the ledger and the audit log; bad ones change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from core.errors import AppError, NotFound
from trading.models import AuditLog, LedgerEntry, SubAccount
from trading.selectors import subaccount_balance
from trading.services import subaccount_deposit, subaccount_house, subaccount_withdraw

D = Decimal


@pytest.mark.django_db
def test_a_deposit_credits_the_balance_and_is_audited(make_sub_account):
    sub = make_sub_account()
    subaccount_deposit(sub_account_id=sub.pk, amount=D("1000.5"), actor="ops-bot", note="funding")
    assert subaccount_balance(sub_account_id=sub.pk) == D("1000.5")
    audit = AuditLog.objects.get()
    assert (audit.actor_label, audit.action, audit.target_id, audit.payload["amount"]) == (
        "ops-bot", "deposit", str(sub.pk), "1000.5")


@pytest.mark.django_db
def test_a_withdrawal_beyond_the_balance_is_refused_and_writes_nothing(make_sub_account):
    sub = make_sub_account()
    subaccount_deposit(sub_account_id=sub.pk, amount=D("100"), actor="ops")
    with pytest.raises(AppError, match="balance of alpha is 100"):
        subaccount_withdraw(sub_account_id=sub.pk, amount=D("100.01"), actor="ops")
    assert LedgerEntry.objects.count() == 1 and AuditLog.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [D("0"), D("-5"), D("NaN"), D("Infinity")])
def test_a_non_positive_or_non_finite_amount_is_refused(make_sub_account, amount):
    sub = make_sub_account()
    with pytest.raises(AppError, match="amount must be a positive number"):
        subaccount_deposit(sub_account_id=sub.pk, amount=amount, actor="ops")
    assert LedgerEntry.objects.count() == 0


@pytest.mark.django_db
def test_a_deposit_to_an_unknown_sub_account_is_refused():
    with pytest.raises(NotFound):
        subaccount_deposit(sub_account_id=987654, amount=D("1"), actor="ops")
    assert LedgerEntry.objects.count() == 0


@pytest.mark.django_db
def test_the_audit_log_refuses_updates_and_deletes(make_sub_account):
    sub = make_sub_account()
    subaccount_deposit(sub_account_id=sub.pk, amount=D("1"), actor="ops")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.update(result="tampered")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.all().delete()
    assert AuditLog.objects.get().result == "ok"


@pytest.mark.django_db
def test_there_is_exactly_one_house_sub_account():
    house = subaccount_house()
    assert house.code == "house000" and subaccount_house().pk == house.pk
    assert SubAccount.objects.filter(is_house=True).count() == 1
