"""Unmodified ccxt.pro.binanceusdm watch_* calls against the server's websockets."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from simexchange.marketdata import Trade
from simexchange.server import SimExchange
from simexchange.tests.conftest import BTC, ETH, push_mark, push_quote

pytestmark = pytest.mark.timeout(30)
WAIT_S = 5


async def _subscribed(sim: SimExchange, count: int) -> None:
    """Wait until the server has `count` market subscriptions (ccxt subscribes asynchronously)."""
    for _ in range(200):
        if sum(len(c.subscriptions) for c in sim.ctx.hub.connections()) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("subscriptions never arrived")


async def _private_connected(sim: SimExchange) -> None:
    for _ in range(200):
        if sim.ctx.users.connections():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the private stream never connected")


async def _trade(sim: SimExchange, symbol: str, trade_id: int, price: str, qty: str) -> None:
    now = sim.ctx.now_ms()
    await sim.push(Trade(symbol, trade_id, Decimal(price), Decimal(qty), False, now, now))


async def test_watch_bids_asks_receives_the_new_quote(exchange: Any, sim: SimExchange) -> None:
    task = asyncio.create_task(exchange.watch_bids_asks([BTC]))
    await _subscribed(sim, 1)
    await push_quote(sim, "BTCUSDT", "64010.0", "64010.5", qty="2.5")
    tickers = await asyncio.wait_for(task, WAIT_S)
    assert tickers[BTC]["bid"] == 64010.0 and tickers[BTC]["ask"] == 64010.5
    assert tickers[BTC]["bidVolume"] == 2.5


async def test_watch_ticker_receives_24h_statistics_from_trades(exchange: Any, sim: SimExchange) -> None:
    await _trade(sim, "ETHUSDT", 1, "3400.00", "1.000")
    task = asyncio.create_task(exchange.watch_ticker(ETH))
    await _subscribed(sim, 1)
    await _trade(sim, "ETHUSDT", 2, "3410.00", "2.000")
    ticker = await asyncio.wait_for(task, WAIT_S)
    assert ticker["symbol"] == ETH and ticker["last"] == 3410.0
    assert ticker["open"] == 3400.0 and ticker["high"] == 3410.0
    assert ticker["baseVolume"] == 3.0


async def test_watch_mark_price_receives_the_mark(exchange: Any, sim: SimExchange) -> None:
    task = asyncio.create_task(exchange.watch_mark_price(BTC))
    await _subscribed(sim, 1)
    await push_mark(sim, "BTCUSDT", "64123.45")
    ticker = await asyncio.wait_for(task, WAIT_S)
    assert ticker["symbol"] == BTC and ticker["markPrice"] == 64123.45


async def test_watch_trades_receives_public_prints(exchange: Any, sim: SimExchange) -> None:
    task = asyncio.create_task(exchange.watch_trades(BTC))
    await _subscribed(sim, 1)
    await _trade(sim, "BTCUSDT", 42, "64000.0", "0.250")
    trades = await asyncio.wait_for(task, WAIT_S)
    assert [(t["id"], t["price"], t["amount"], t["side"]) for t in trades] == [("42", 64000.0, 0.25, "buy")]


async def test_watch_orders_and_my_trades_see_a_market_fill(exchange: Any, sim: SimExchange) -> None:
    orders_task = asyncio.create_task(exchange.watch_orders(BTC))
    trades_task = asyncio.create_task(exchange.watch_my_trades(BTC))
    await _private_connected(sim)
    placed = await exchange.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "PMSws_MKT_1"})
    orders = await asyncio.wait_for(orders_task, WAIT_S)
    assert orders[-1]["id"] == placed["id"] and orders[-1]["clientOrderId"] == "PMSws_MKT_1"
    trades = await asyncio.wait_for(trades_task, WAIT_S)
    assert [(t["order"], t["price"], t["amount"]) for t in trades] == [(placed["id"], 64000.1, 0.01)]
    while orders[-1]["status"] != "closed":
        orders = await asyncio.wait_for(exchange.watch_orders(BTC), WAIT_S)
    assert orders[-1]["filled"] == 0.01


async def test_watch_positions_sees_the_new_position(exchange: Any, sim: SimExchange) -> None:
    snapshot = await asyncio.wait_for(exchange.watch_positions([BTC]), WAIT_S)
    assert snapshot == []
    task = asyncio.create_task(exchange.watch_positions([BTC]))
    await _private_connected(sim)
    await exchange.create_order(BTC, "market", "sell", 0.02)
    positions = await asyncio.wait_for(task, WAIT_S)
    assert [(p["symbol"], p["contracts"], p["side"], p["entryPrice"]) for p in positions] == [
        (BTC, 0.02, "short", 64000.0)
    ]


async def test_watch_balance_sees_the_fee_paid(exchange: Any, sim: SimExchange) -> None:
    task = asyncio.create_task(exchange.watch_balance())
    await _private_connected(sim)
    await exchange.create_order(BTC, "market", "buy", 0.01)
    balance = await asyncio.wait_for(task, WAIT_S)
    fee = Decimal("64000.1") * Decimal("0.01") * Decimal("0.0005")
    assert Decimal(str(balance["USDT"]["total"])) == Decimal("100000") - fee
