"""The desk's overview of every sub-account in a few queries, equal to each sub-account's own; the equity curve
from the last entries only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from trading.models import LedgerEntry, SubAccount, VirtualPosition
from trading.selectors import equity_curve, subaccount_overview, subaccount_overview_list
from trading.services import subaccount_deposit

D = Decimal
pytestmark = pytest.mark.django_db


def test_the_desk_overview_equals_each_sub_accounts_own_in_a_constant_number_of_queries(instruments):
    user = User.objects.create_user("ann")
    subs = [SubAccount.objects.create(name=f"s{i:02d}") for i in range(12)]
    now = timezone.now()
    for i, sub in enumerate(subs):
        sub.operators.add(user)
        subaccount_deposit(sub_account_id=sub.pk, amount=D(1000 + i), actor="test")
        VirtualPosition.objects.create(sub_account=sub, symbol="BTCUSDT", quantity=D(i % 3 - 1) / 100,
                                       average_entry=D("60000"), realized_pnl=D(i), fees=D("0.1"), updated_at=now)
        if i % 4 == 0:  # a flat position's realized PnL still counts
            VirtualPosition.objects.create(sub_account=sub, symbol="ETHUSDT", quantity=D(0), average_entry=D(0),
                                           realized_pnl=D("-2.5"), fees=D(0), updated_at=now)
    other = SubAccount.objects.create(name="not-granted")
    subaccount_deposit(sub_account_id=other.pk, amount=D(5), actor="test")

    with CaptureQueriesContext(connection) as queries:
        desk = subaccount_overview_list(user=user)

    assert len(queries) <= 4
    assert desk == [subaccount_overview(sub_account=sub) for sub in sorted(subs, key=lambda s: s.name)]
    assert desk[0].realized_pnl == D("-2.5") and desk[1].balance == D(1001) and len(desk[1].positions) == 0


def test_the_equity_curve_reads_the_last_entries_and_starts_from_the_balance_before_them(make_sub_account):
    sub = make_sub_account()
    for amount in ("100", "-10", "25", "-5", "40"):
        subaccount_deposit(sub_account_id=sub.pk, amount=D(amount), actor="test") if D(amount) > 0 else \
            LedgerEntry.objects.create(sub_account=sub, kind=LedgerEntry.Kind.FEE, amount=D(amount), asset="USDT",
                                       created_at=timezone.now())

    curve = equity_curve(sub_account_id=sub.pk, points=3)

    assert [value for _, value in curve] == [D(115), D(110), D(150)]
    assert [value for _, value in equity_curve(sub_account_id=sub.pk)] == [D(100), D(90), D(115), D(110), D(150)]
