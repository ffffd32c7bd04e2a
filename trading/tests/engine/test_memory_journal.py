"""The memory journal's bounded history (benchmarks of millions of orders): live orders are always kept."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from trading.domain.client_ids import OrderOrigin
from trading.domain.orders import OrderStatus, OrderUpdate
from trading.domain.records import FillReport, OrderIntent
from trading.domain.types import OrderType, Side, TimeInForce
from trading.engine.journal import MemoryJournal

from .harness import ALPHA, SUBS, make_harness

D = Decimal


async def bounded_journal(kept: int) -> MemoryJournal:
    h = await make_harness()
    return MemoryJournal(SUBS, await h.venue.instruments(), history_kept=kept)


def limit_buy() -> OrderIntent:
    return OrderIntent(ALPHA, "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.010"), D("59000.0"), TimeInForce.GTC,
                       origin=OrderOrigin.LMT)


def fill(key: str) -> FillReport:
    return FillReport(key, ALPHA, "BTCUSDT", Side.BUY, D("59000.0"), D("0.001"), datetime(2024, 1, 1, tzinfo=UTC))


async def test_a_bounded_journal_keeps_live_orders_and_only_the_latest_terminal_ones():
    journal = await bounded_journal(2)
    orders = [await journal.order_open(limit_buy(), reference_price=D("59000")) for _ in range(4)]
    for order in orders[:3]:
        await journal.order_update(order.client_order_id, OrderUpdate(OrderStatus.CANCELED))
    assert [o.client_order_id for o in journal.orders.values()] == [o.client_order_id for o in orders[1:]]
    assert [o.client_order_id for o in await journal.live_orders()] == [orders[3].client_order_id]


async def test_a_bounded_journal_still_books_a_repeated_fill_once_within_its_window():
    journal = await bounded_journal(2)
    assert await journal.fill_book(fill("BTCUSDT:1")) is not None
    assert await journal.fill_book(fill("BTCUSDT:2")) is not None
    assert await journal.fill_book(fill("BTCUSDT:2")) is None
    assert await journal.fill_book(fill("BTCUSDT:3")) is not None
    assert list(journal.fills) == ["BTCUSDT:2", "BTCUSDT:3"]
    assert journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.003")
