"""Money in and out of a sub-account, always through the ledger and the audit log."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from core.clock import SYSTEM_CLOCK, Clock
from core.errors import AppError, NotFound
from trading.models import LedgerEntry, SubAccount
from trading.selectors import subaccount_balance
from trading.services.audit import audit_record


def _locked_sub_account(sub_account_id: int) -> SubAccount:
    try:
        return SubAccount.objects.select_for_update().get(pk=sub_account_id)
    except SubAccount.DoesNotExist:
        raise NotFound(f"sub-account {sub_account_id} does not exist") from None


def _check_amount(amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise AppError(f"amount must be a positive number, got {amount}")


@transaction.atomic
def subaccount_deposit(
    *, sub_account_id: int, amount: Decimal, actor: AbstractBaseUser | str, asset: str = "USDT",
    note: str = "", clock: Clock = SYSTEM_CLOCK,
) -> LedgerEntry:
    _check_amount(amount)
    sub_account = _locked_sub_account(sub_account_id)
    if sub_account.status == SubAccount.Status.CLOSED:
        raise AppError(f"sub-account {sub_account.name} is closed; reopen it before depositing")
    entry = LedgerEntry.objects.create(
        sub_account=sub_account, kind=LedgerEntry.Kind.DEPOSIT, amount=amount, asset=asset, note=note,
        created_at=clock.now(),
    )
    audit_record(actor=actor, action="deposit", target_type="sub_account", target_id=sub_account.pk,
                 payload={"amount": amount, "asset": asset, "note": note}, clock=clock)
    return entry


@transaction.atomic
def subaccount_withdraw(
    *, sub_account_id: int, amount: Decimal, actor: AbstractBaseUser | str, asset: str = "USDT",
    note: str = "", clock: Clock = SYSTEM_CLOCK,
) -> LedgerEntry:
    """Refuses to take the balance below zero (margin in use is checked by the risk engine)."""
    _check_amount(amount)
    sub_account = _locked_sub_account(sub_account_id)  # the lock serialises concurrent withdrawals
    balance = subaccount_balance(sub_account_id=sub_account.pk, asset=asset)
    if amount > balance:
        raise AppError(f"cannot withdraw {amount} {asset}: the balance of {sub_account.name} is {balance} {asset}")
    entry = LedgerEntry.objects.create(
        sub_account=sub_account, kind=LedgerEntry.Kind.WITHDRAWAL, amount=-amount, asset=asset, note=note,
        created_at=clock.now(),
    )
    audit_record(actor=actor, action="withdraw", target_type="sub_account", target_id=sub_account.pk,
                 payload={"amount": amount, "asset": asset, "note": note}, clock=clock)
    return entry


def subaccount_house() -> SubAccount:
    """The sub-account that owns exchange activity nobody here placed (created by migration, recreated if lost)."""
    house, _ = SubAccount.objects.get_or_create(is_house=True, defaults={"name": "house", "code": "house000"})
    return house
