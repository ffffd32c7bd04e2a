"""Conditional (algo) orders through ccxt: accepted, listed, cancelled, and triggered against mark/last price."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from simexchange.marketdata import Trade
from simexchange.server import SimExchange
from simexchange.tests.conftest import BTC, push_mark, push_quote

pytestmark = pytest.mark.timeout(30)
TRIGGER = {"trigger": True}


async def _last_trade(sim: SimExchange, price: str) -> None:
    now = sim.ctx.now_ms()
    await sim.push(Trade("BTCUSDT", now, Decimal(price), Decimal("0.1"), True, now, now))


def _position(sim: SimExchange) -> Decimal:
    return sim.engine.positions(1, "BTCUSDT")[0].position_amt


async def test_stop_loss_is_stored_listed_fetched_and_cancelled(exchange: Any, sim: SimExchange) -> None:
    stop = await exchange.create_order(BTC, "market", "sell", 0.01, None, {"stopLossPrice": 63000})
    assert stop["status"] == "open" and stop["triggerPrice"] == 63000.0 and stop["type"] == "market"
    listed = await exchange.fetch_open_orders(BTC, None, None, TRIGGER)
    assert [o["id"] for o in listed] == [stop["id"]]
    fetched = await exchange.fetch_order(stop["id"], BTC, TRIGGER)
    assert fetched["id"] == stop["id"] and fetched["status"] == "open"
    cancelled = await exchange.cancel_order(stop["id"], BTC, TRIGGER)
    assert cancelled["id"] == stop["id"]
    assert await exchange.fetch_open_orders(BTC, None, None, TRIGGER) == []
    with pytest.raises(ccxt.OrderNotFound):
        await exchange.cancel_order(stop["id"], BTC, TRIGGER)


async def test_stop_market_triggers_on_the_last_price_and_fills(exchange: Any, sim: SimExchange) -> None:
    await _last_trade(sim, "64000.0")
    await exchange.create_order(BTC, "market", "buy", 0.01)
    await exchange.create_order(BTC, "market", "sell", 0.01, None, {"stopLossPrice": 63000, "reduceOnly": True})
    await push_quote(sim, "BTCUSDT", "62990.0", "62990.1")
    assert _position(sim) == Decimal("0.01")  # a quote is not a trade: CONTRACT_PRICE waits for the last price
    await _last_trade(sim, "62995.0")
    assert _position(sim) == 0
    assert await exchange.fetch_open_orders(BTC, None, None, TRIGGER) == []
    trades = await exchange.fetch_my_trades(BTC)
    assert [(t["side"], t["price"]) for t in trades] == [("buy", 64000.1), ("sell", 62990.0)]


async def test_mark_price_stop_triggers_on_the_mark(exchange: Any, sim: SimExchange) -> None:
    await exchange.create_order(BTC, "market", "buy", 0.01, None, {"triggerPrice": 64100, "workingType": "MARK_PRICE"})
    await _last_trade(sim, "64200.0")
    assert _position(sim) == 0
    await push_mark(sim, "BTCUSDT", "64100.00")
    assert _position(sim) == Decimal("0.01")


async def test_take_profit_limit_rests_a_limit_order_when_triggered(exchange: Any, sim: SimExchange) -> None:
    await exchange.create_order(BTC, "market", "buy", 0.01)
    tp = await exchange.create_order(BTC, "limit", "sell", 0.01, 65100, {"takeProfitPrice": 65000, "reduceOnly": True})
    assert tp["status"] == "open"
    await push_quote(sim, "BTCUSDT", "65000.0", "65000.1")
    await _last_trade(sim, "65000.0")
    resting = await exchange.fetch_open_orders(BTC)
    assert [(o["side"], o["price"], o["clientOrderId"]) for o in resting] == [("sell", 65100.0, tp["clientOrderId"])]


async def test_trailing_stop_follows_the_high_and_triggers_on_the_callback(exchange: Any, sim: SimExchange) -> None:
    await exchange.create_order(BTC, "market", "buy", 0.01)
    await exchange.create_order(BTC, "market", "sell", 0.01, None, {"trailingPercent": 1, "reduceOnly": True})
    for price in ("64500.0", "65000.0", "64400.0"):
        await _last_trade(sim, price)
    assert _position(sim) == Decimal("0.01")  # 64400 is above 65000 x 0.99
    await push_quote(sim, "BTCUSDT", "64340.0", "64340.1")
    await _last_trade(sim, "64340.0")
    assert _position(sim) == 0


async def test_algo_updates_reach_watch_orders(exchange: Any, sim: SimExchange) -> None:
    task = asyncio.create_task(exchange.watch_orders(BTC))
    for _ in range(200):
        if sim.ctx.users.connections():
            break
        await asyncio.sleep(0.01)
    stop = await exchange.create_order(BTC, "market", "buy", 0.01, None, {"triggerPrice": 64500})
    orders = await asyncio.wait_for(task, 5)
    assert [(o["id"], o["status"], o["triggerPrice"]) for o in orders] == [(stop["id"], "open", 64500.0)]


async def test_stop_that_would_trigger_at_once_is_refused(exchange: Any, sim: SimExchange) -> None:
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await exchange.create_order(BTC, "market", "sell", 0.01, None, {"stopLossPrice": 64500})
    assert await exchange.fetch_open_orders(BTC, None, None, TRIGGER) == []


async def test_close_position_stop_closes_whatever_is_open(exchange: Any, sim: SimExchange) -> None:
    await exchange.create_order(BTC, "market", "buy", 0.03)
    params = {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET"}
    params |= {"triggerPrice": "63000", "closePosition": "true"}
    reply = await exchange.fapiPrivatePostAlgoOrder(params)
    assert reply["closePosition"] is True and reply["algoStatus"] == "NEW"
    await push_quote(sim, "BTCUSDT", "62900.0", "62900.1")
    await _last_trade(sim, "62900.0")
    assert _position(sim) == 0
