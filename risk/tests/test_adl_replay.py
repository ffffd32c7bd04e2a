"""Acceptance: auto-deleverage on replayed prices. A thinly margined BTC short through the short squeeze of
2025-07-10 21:12-21:32 UTC (Binance 1m klines from ../shared/data, replayed by simexchange's CSV replay) crosses
margin ratio 0.90, 0.925 and 0.95 and is cut by 30 %, 50 % and then entirely, in that order, with events.

The engine harness is the in-process matching core with the real OrderManager and FillRouter; the RiskEngine is
its pre-trade hook, books its fills and gets every replayed quote through on_tick, as MarketDataService calls it.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from risk.tests.test_engine import market, with_risk
from simexchange.marketdata import BookTicker, MarkPrice
from simexchange.sources.binance_csv import CsvReplay
from trading.domain.client_ids import OrderOrigin, client_id_parse
from trading.domain.types import OrderType, Side
from trading.marketdata.cache import L1
from trading.tests.engine.harness import ALPHA, Harness, make_harness
from trading.venues.base import Mark, OrderRequest, Quote, WriteOutcome

D = Decimal
KLINES = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance-usdm-klines" / "BTCUSDT-1m.csv"
START_MS, MINUTES = 1_752_181_920_000, 20  # 2025-07-10 21:12 UTC: BTC runs from about 113,600 to 117,500
WALLET, SHORT = D(1400), D("1.000")

pytestmark = pytest.mark.skipif(not KLINES.exists(), reason=f"the recorded BTCUSDT klines are not at {KLINES} "
                                                           "(../shared/data is absent)")


def replayed_quotes(tmp_path: Path) -> list[BookTicker]:
    """The window's klines, cut from the recorded file, through simexchange's CSV replay (10 steps per leg)."""
    window = tmp_path / "BTCUSDT-1m.csv"
    with KLINES.open(newline="") as source, window.open("w", newline="") as target:
        rows = csv.reader(source)
        writer = csv.writer(target)
        writer.writerow(next(rows))
        writer.writerows(row for row in rows if START_MS <= int(row[0]) < START_MS + MINUTES * 60_000)
    replay = CsvReplay([window], grids={"BTCUSDT": (D("0.1"), D("0.001"))}, steps_per_leg=10)
    return [event for event in replay if isinstance(event, BookTicker)]


def feed(h: Harness, quote: BookTicker) -> L1:
    """The exchange sees the quote and its mark; the L1 is what MarketDataService hands its subscribers."""
    h.clock.advance_to(max(quote.event_time_ms, h.clock.now_ms()))
    mid = (quote.bid_price + quote.ask_price) / 2
    h.exchange.on_book_ticker(quote)
    h.exchange.on_mark_price(MarkPrice("BTCUSDT", mid, mid, mid, D("0.0001"), quote.event_time_ms + 3_600_000,
                                       quote.event_time_ms))
    return L1("BTCUSDT", Quote("BTCUSDT", quote.bid_price, quote.bid_qty, quote.ask_price, quote.ask_qty,
                               quote.event_time_ms), Mark("BTCUSDT", mid, D("0.0001"), 0, quote.event_time_ms))


async def test_a_squeezed_short_is_cut_thirty_then_fifty_percent_then_closed_as_its_ratio_crosses_each_tier(
        tmp_path):
    quotes = replayed_quotes(tmp_path)
    assert len(quotes) > 300 and max(q.ask_price for q in quotes) > 117_000  # the squeeze is in the window
    h = await make_harness()
    feed(h, quotes[0])
    risk, store, _ = await with_risk(h, {}, {ALPHA: WALLET})
    sent: list[OrderRequest] = []
    place = h.venue.place

    async def recording(request: OrderRequest) -> WriteOutcome:
        sent.append(request)
        return await place(request)

    h.venue.place = recording  # type: ignore[method-assign]
    assert (await h.manager.place(market(ALPHA, Side.SELL, str(SHORT)))).ok
    await h.pump()
    await risk.settle()
    assert risk.margin_of(ALPHA).margin_ratio < D("0.90")

    positions_before_adl: list[Decimal] = []
    for quote in quotes[1:]:
        before = h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity
        adl_so_far = len(store.adl)
        risk.on_tick(feed(h, quote))
        await risk.settle()
        await h.pump()
        await risk.settle()
        if len(store.adl) > adl_so_far:
            positions_before_adl.append(before)
        if not h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity:
            break

    events = [data for _, kind, data in h.events if kind == "adl_triggered"]
    assert [e["tier"] for e in events] == [1, 2, 3]
    ratios = [D(e["margin_ratio"]) for e in events]
    assert D("0.90") <= ratios[0] < D("0.925") <= ratios[1] < D("0.95") <= ratios[2]
    assert [(a["tier"], a["side"], a["quantity"], a["result"]) for a in store.adl] == [
        (1, "buy", D("0.300"), "placed"), (2, "buy", D("0.350"), "placed"), (3, "buy", D("0.350"), "placed")]
    assert positions_before_adl == [-SHORT, D("-0.700"), D("-0.350")]  # 30 % of 1, 50 % of 0.7, all of 0.35
    adl_orders = [r for r in sent if r.reduce_only]
    assert [(r.side, r.order_type, r.quantity) for r in adl_orders] == [
        (Side.BUY, OrderType.MARKET, D("0.300")), (Side.BUY, OrderType.MARKET, D("0.350")),
        (Side.BUY, OrderType.MARKET, D("0.350"))]
    assert all(client_id_parse(r.client_order_id).origin is OrderOrigin.ADL  # type: ignore[union-attr]
               for r in adl_orders)
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == 0
    assert h.exchange_position("BTCUSDT") == 0
