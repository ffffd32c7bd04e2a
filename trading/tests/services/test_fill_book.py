"""fill_book against the real PostgreSQL: exactly once, position and ledger in one transaction."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from core.errors import AppError, NotFound
from trading.domain.types import Side
from trading.models import Fill, LedgerEntry, VirtualPosition
from trading.selectors import subaccount_balance
from trading.services import FillReport, fill_book

D = Decimal
T0 = datetime(2026, 1, 1, tzinfo=UTC)
published: list[tuple[str, str, dict]] = []


def record(group: str, event_type: str, data: dict) -> None:
    published.append((group, event_type, data))


def report(sub_account_id: int, trade: str, side: Side, price: str, qty: str, fee: str = "0") -> FillReport:
    return FillReport(trade_key=f"BTCUSDT:{trade}", sub_account_id=sub_account_id, symbol="BTCUSDT", side=side,
                      price=D(price), quantity=D(qty), fee=D(fee), executed_at=T0)


@pytest.mark.django_db(transaction=True)
def test_a_fill_opens_a_position_and_writes_its_fee_to_the_ledger(make_sub_account):
    sub = make_sub_account()
    booked = fill_book(report=report(sub.pk, "1", Side.BUY, "60000", "0.5", fee="15"), publish=record)
    position = VirtualPosition.objects.get(sub_account=sub, symbol="BTCUSDT")
    assert booked is not None
    assert (position.quantity, position.average_entry, position.fees) == (D("0.5"), D("60000"), D("15"))
    assert list(LedgerEntry.objects.filter(sub_account=sub).values_list("kind", "amount")) == [("fee", D("-15"))]
    assert (f"account.{sub.pk}", "position_updated") in [(g, t) for g, t, _ in published]


@pytest.mark.django_db
def test_closing_a_position_books_realized_pnl_and_moves_the_balance(make_sub_account):
    sub = make_sub_account()
    fill_book(report=report(sub.pk, "1", Side.BUY, "60000", "0.5", fee="15"), publish=record)
    fill_book(report=report(sub.pk, "2", Side.SELL, "61000", "0.5", fee="15.25"), publish=record)
    position = VirtualPosition.objects.get(sub_account=sub, symbol="BTCUSDT")
    assert position.quantity == 0
    assert position.realized_pnl == D("500")
    assert subaccount_balance(sub_account_id=sub.pk) == D("500") - D("15") - D("15.25")


@pytest.mark.django_db
def test_a_replayed_fill_changes_nothing(make_sub_account):
    sub = make_sub_account()
    first = fill_book(report=report(sub.pk, "7", Side.BUY, "60000", "0.5", fee="15"), publish=record)
    again = fill_book(report=report(sub.pk, "7", Side.BUY, "60000", "0.5", fee="15"), publish=record)
    assert first is not None and again is None
    assert Fill.objects.count() == 1
    assert VirtualPosition.objects.get(sub_account=sub).quantity == D("0.5")
    assert LedgerEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sessions_booking_the_same_trade_at_once_book_it_once(make_sub_account):
    sub = make_sub_account()
    fill_book(report=report(sub.pk, "0", Side.BUY, "60000", "0.1"), publish=record)  # the position row exists
    barrier = threading.Barrier(2)
    results: list[object] = []

    def book() -> None:
        try:
            barrier.wait(timeout=5)
            results.append(fill_book(report=report(sub.pk, "42", Side.BUY, "60100", "0.2", fee="1"), publish=record))
        finally:
            connection.close()

    threads = [threading.Thread(target=book) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(result is None for result in results) == [False, True]
    assert Fill.objects.filter(trade_key="BTCUSDT:42").count() == 1
    assert VirtualPosition.objects.get(sub_account=sub).quantity == D("0.3")
    assert LedgerEntry.objects.filter(kind="fee").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sessions_racing_on_a_new_position_create_one_row(make_sub_account):
    sub = make_sub_account()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def book(trade: str) -> None:
        try:
            barrier.wait(timeout=5)
            results.append(fill_book(report=report(sub.pk, trade, Side.BUY, "60000", "0.1"), publish=record))
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(trade,)) for trade in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert all(result is not None for result in results) and len(results) == 2
    assert VirtualPosition.objects.get(sub_account=sub).quantity == D("0.2")


@pytest.mark.django_db
@pytest.mark.parametrize(("price", "qty", "message"), [
    ("60000", "-0.1", "quantity must be positive"),
    ("60000", "0", "quantity must be positive"),
    ("0", "0.1", "price must be positive"),
])
def test_an_invalid_fill_is_refused_and_writes_nothing(make_sub_account, price, qty, message):
    sub = make_sub_account()
    with pytest.raises(AppError, match=message):
        fill_book(report=report(sub.pk, "9", Side.BUY, price, qty), publish=record)
    assert Fill.objects.count() == 0 and VirtualPosition.objects.count() == 0


@pytest.mark.django_db
def test_a_fill_for_an_unknown_sub_account_is_refused_and_writes_nothing():
    with pytest.raises(NotFound, match="sub-account 999999 does not exist"):
        fill_book(report=report(999999, "9", Side.BUY, "60000", "0.1"), publish=record)
    assert Fill.objects.count() == 0 and VirtualPosition.objects.count() == 0


@pytest.mark.django_db
def test_a_fee_in_another_asset_is_ledgered_in_that_asset_and_leaves_usdt_pnl_alone(make_sub_account):
    sub = make_sub_account()
    fill_book(report=FillReport(trade_key="BTCUSDT:5", sub_account_id=sub.pk, symbol="BTCUSDT", side=Side.BUY,
                                price=D("60000"), quantity=D("0.1"), fee=D("0.002"), fee_asset="BNB",
                                executed_at=T0), publish=record)
    assert VirtualPosition.objects.get(sub_account=sub).fees == 0
    assert subaccount_balance(sub_account_id=sub.pk, asset="BNB") == D("-0.002")
    assert subaccount_balance(sub_account_id=sub.pk) == 0


@pytest.mark.django_db
def test_a_fill_on_a_frozen_sub_account_is_still_booked(make_sub_account):
    sub = make_sub_account(status="frozen")  # the exchange executed it: the books must show it
    assert fill_book(report=report(sub.pk, "3", Side.SELL, "60000", "0.1"), publish=record) is not None
    assert VirtualPosition.objects.get(sub_account=sub).quantity == D("-0.1")


@pytest.mark.django_db
def test_a_fill_of_a_known_order_is_linked_to_it(instruments, make_sub_account):
    from trading.domain.types import OrderType
    from trading.services.orders import OrderIntent, order_register

    sub = make_sub_account()
    order = order_register(intent=OrderIntent(sub.pk, "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.01"), D("60000")))
    fill_book(report=FillReport(trade_key="BTCUSDT:501", sub_account_id=sub.pk, symbol="BTCUSDT", side=Side.BUY,
                                price=D("60000"), quantity=D("0.01"), executed_at=T0,
                                client_order_id=order.client_order_id), publish=record)
    assert Fill.objects.get(trade_key="BTCUSDT:501").order_id == order.pk


@pytest.mark.django_db
def test_a_burst_of_fills_is_booked_in_one_go_and_duplicates_inside_it_count_once(make_sub_account):
    from trading.services.fills import fill_book_many

    sub = make_sub_account()
    burst = [report(sub.pk, str(n), Side.BUY, "60000", "0.1") for n in range(5)]
    results = fill_book_many(reports=[*burst, burst[2]], publish=record)
    assert [r is not None for r in results] == [True] * 5 + [False]
    assert VirtualPosition.objects.get(sub_account=sub).quantity == D("0.5")


@pytest.mark.django_db
def test_a_burst_with_one_invalid_fill_writes_nothing(make_sub_account):
    from trading.services.fills import fill_book_many

    sub = make_sub_account()
    with pytest.raises(AppError):
        fill_book_many(reports=[report(sub.pk, "1", Side.BUY, "60000", "0.1"),
                                report(sub.pk, "2", Side.BUY, "60000", "-1")], publish=record)
    assert Fill.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_sessions_booking_the_same_burst_at_once_book_it_once(make_sub_account):
    from trading.services.fills import fill_book_many

    alpha, beta = make_sub_account("alpha"), make_sub_account("beta")
    burst = [report(alpha.pk if n % 2 else beta.pk, f"burst{n}", Side.BUY if n % 3 else Side.SELL, "60000", "0.1",
                    fee="0.5") for n in range(40)]
    barrier = threading.Barrier(2)
    results: list[list[Any]] = []

    def book() -> None:
        try:
            barrier.wait(timeout=5)
            results.append(fill_book_many(reports=burst, publish=record))
        finally:
            connection.close()

    threads = [threading.Thread(target=book) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(sum(r is not None for r in result) for result in results) == [0, 40]
    assert Fill.objects.count() == 40 and LedgerEntry.objects.filter(kind="fee").count() == 40
    expected = sum((r.quantity * r.side.sign for r in burst if r.sub_account_id == alpha.pk), D(0))
    assert VirtualPosition.objects.get(sub_account=alpha).quantity == expected


@pytest.mark.django_db
def test_a_burst_books_the_same_positions_and_ledger_as_one_by_one(make_sub_account):
    from trading.services.fills import fill_book_many

    one, many = make_sub_account("one"), make_sub_account("many")
    sides = [Side.BUY, Side.BUY, Side.SELL, Side.SELL, Side.SELL, Side.BUY, Side.SELL]
    prices = ["60000", "60100", "60300", "59900", "60050", "60500", "61000"]
    for n, (side, price) in enumerate(zip(sides, prices, strict=True)):
        fill_book(report=report(one.pk, f"a{n}", side, price, "0.3", fee="0.7"), publish=record)
    fill_book_many(reports=[report(many.pk, f"b{n}", side, price, "0.3", fee="0.7")
                            for n, (side, price) in enumerate(zip(sides, prices, strict=True))], publish=record)
    a = VirtualPosition.objects.get(sub_account=one)
    b = VirtualPosition.objects.get(sub_account=many)
    assert (a.quantity, a.average_entry, a.realized_pnl, a.fees) == (b.quantity, b.average_entry, b.realized_pnl,
                                                                      b.fees)
    assert subaccount_balance(sub_account_id=one.pk) == subaccount_balance(sub_account_id=many.pk)
