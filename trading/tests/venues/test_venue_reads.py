"""Reads of the ccxt venue: instruments, limits, account state, trades, and the exchange clock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.errors import VenueRejected, VenueUnavailable
from trading.domain.orders import OrderStatus
from trading.domain.types import Side
from trading.venues.base import Accepted, Rejected, VenueLimits

from .helpers import limit, market

pytestmark = pytest.mark.timeout(30)
D = Decimal


async def test_instruments_carry_btcusdt_filters_exactly(venue: Any) -> None:
    rules = {r.symbol: r for r in await venue.instruments()}

    btc = rules["BTCUSDT"]
    assert set(rules) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    assert (btc.tick_size, btc.step_size, btc.min_qty, btc.max_qty) == (D("0.10"), D("0.001"), D("0.001"), D("1000"))
    assert (btc.min_notional, btc.min_price, btc.max_price) == (D("100"), D("402"), D("1246396.60"))
    assert (btc.price_band_up, btc.price_band_down) == (D("1.0500"), D("0.9500"))
    assert (btc.base_asset, btc.quote_asset) == ("BTC", "USDT")


async def test_limits_come_from_exchange_info_and_size_the_budget(venue: Any) -> None:
    limits = await venue.limits()

    assert limits == VenueLimits(request_weight_per_minute=2400, orders_per_10s=300, orders_per_minute=1200)
    assert venue.budget.limits == limits


async def test_open_orders_positions_and_balances_are_decimal(venue: Any) -> None:
    await venue.place(limit("PMSread_LMT_1", "0.010", "63000.0"))
    await venue.place(market("PMSread_MKT_1", "0.010"))

    open_orders = await venue.open_orders("BTCUSDT")
    positions = await venue.positions()
    balances = {b.asset: b for b in await venue.balances()}

    assert [(o.client_order_id, o.status) for o in open_orders] == [("PMSread_LMT_1", OrderStatus.NEW)]
    assert [o.client_order_id for o in await venue.open_orders()] == ["PMSread_LMT_1"]
    assert [(p.symbol, p.quantity, p.entry_price) for p in positions] == [("BTCUSDT", D("0.010"), D("64000.1"))]
    assert balances["USDT"].wallet_balance < D("100000") and isinstance(balances["USDT"].available_balance, Decimal)


async def test_trades_since_carry_the_client_id_and_the_trade_key(venue: Any) -> None:
    since = venue.budget.now_ms() - 1_000
    await venue.place(market("PMStrade_MKT_1", "0.010"))
    await venue.place(market("PMStrade_MKT_2", "0.005", side=Side.SELL))

    trades = await venue.trades_since(symbol="BTCUSDT", since_ms=since)

    assert [(t.client_order_id, t.side, t.quantity) for t in trades] == [
        ("PMStrade_MKT_1", Side.BUY, D("0.010")), ("PMStrade_MKT_2", Side.SELL, D("0.005"))]
    first = trades[0]
    assert first.trade_key.startswith("BTCUSDT:") and first.price == D("64000.1")
    assert first.fee == D("0.32000050") and first.fee_asset == "USDT" and not first.is_maker
    assert trades[1].realized_pnl == D("-0.0005")


async def test_a_read_on_an_unknown_symbol_is_refused(venue: Any) -> None:
    with pytest.raises(VenueRejected):
        await venue.fetch_order(symbol="DOGEUSDT", client_order_id="x")


async def test_a_read_during_a_skewed_clock_resyncs_and_succeeds(venue: Any, sim: Any) -> None:
    await venue.instruments()
    assert abs(venue.time_offset_ms) < 1_000
    await sim.add_fault(kind="clock_skew", ms=30_000)

    balances = await venue.balances()

    assert balances and 29_000 < venue.time_offset_ms < 31_000


async def test_a_write_refused_for_the_clock_is_rejected_and_the_next_one_goes_through(venue: Any, sim: Any) -> None:
    await venue.instruments()
    await sim.add_fault(kind="clock_skew", ms=-30_000)

    refused = await venue.place(limit("PMSclock_LMT_1"))
    accepted = await venue.place(limit("PMSclock_LMT_2"))

    assert isinstance(refused, Rejected) and refused.code == -1021
    assert isinstance(accepted, Accepted)
    assert -31_000 < venue.time_offset_ms < -29_000


async def test_a_read_that_keeps_failing_raises_venue_unavailable(venue: Any, sim: Any) -> None:
    await venue.instruments()
    await sim.add_fault(kind="error_before", path="/fapi/v3/account", count=3)

    with pytest.raises(VenueUnavailable):
        await venue.balances()
    assert sim.state()["faults_fired"]["error_before"] == 3  # retried, a bounded number of times


async def test_a_read_retried_after_one_5xx_succeeds(venue: Any, sim: Any) -> None:
    await venue.instruments()
    await sim.add_fault(kind="error_before", path="/fapi/v3/account", count=1)

    assert await venue.balances()


async def test_fetch_quote_reads_the_best_bid_and_ask_over_rest(venue: Any, sim: Any) -> None:
    quote = await venue.fetch_quote("BTCUSDT")
    market = sim.engine.market("BTCUSDT").quote
    assert quote is not None and market is not None
    assert (quote.bid_price, quote.ask_price) == (market.bid_price, market.ask_price)
    assert quote.bid_price < quote.ask_price
