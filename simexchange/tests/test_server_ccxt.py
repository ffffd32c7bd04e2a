"""Unmodified ccxt.pro.binanceusdm against the server over loopback: the REST calls PMS makes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from simexchange.server import SimExchange
from simexchange.tests.conftest import BTC, ETH, push_quote

pytestmark = pytest.mark.timeout(30)


async def test_load_markets_lists_the_configured_perpetuals_with_their_filters(exchange: Any) -> None:
    markets = exchange.markets
    assert set(markets) == {BTC, ETH, "SOL/USDT:USDT"}
    btc = markets[BTC]
    assert btc["id"] == "BTCUSDT" and btc["linear"] and btc["swap"] and btc["settle"] == "USDT"
    assert btc["precision"]["price"] == 0.1 and btc["precision"]["amount"] == 0.001
    assert btc["limits"]["cost"]["min"] == 100.0 and btc["limits"]["amount"]["min"] == 0.001


async def test_fetch_time_is_the_server_clock(exchange: Any, sim: SimExchange) -> None:
    before = sim.ctx.now_ms()
    server_time = await exchange.fetch_time()
    assert before <= server_time <= sim.ctx.now_ms()


async def test_fetch_balance_shows_the_deposit(exchange: Any) -> None:
    balance = await exchange.fetch_balance()
    assert balance["USDT"]["total"] == 100000.0
    assert balance["USDT"]["free"] == 100000.0
    assert balance["USDT"]["used"] == 0.0


async def test_set_leverage_is_stored_and_reported_in_positions(exchange: Any) -> None:
    reply = await exchange.set_leverage(7, BTC)
    assert reply["leverage"] == 7 and reply["symbol"] == "BTCUSDT"
    positions = await exchange.fetch_positions([BTC], {"type": "swap"})
    assert positions == [] or positions[0]["leverage"] == 7


async def test_limit_order_rests_and_is_fetched_listed_and_cancelled(exchange: Any) -> None:
    order = await exchange.create_order(BTC, "limit", "buy", 0.01, 63000, {"clientOrderId": "PMSa1b2c3d4_LMT_1"})
    assert order["status"] == "open" and order["clientOrderId"] == "PMSa1b2c3d4_LMT_1"
    assert order["price"] == 63000.0 and order["amount"] == 0.01 and order["filled"] == 0.0
    fetched = await exchange.fetch_order(order["id"], BTC)
    assert fetched["id"] == order["id"] and fetched["status"] == "open"
    by_client_id = await exchange.fetch_order(None, BTC, {"origClientOrderId": "PMSa1b2c3d4_LMT_1"})
    assert by_client_id["id"] == order["id"]
    open_orders = await exchange.fetch_open_orders(BTC)
    assert [o["id"] for o in open_orders] == [order["id"]]
    cancelled = await exchange.cancel_order(order["id"], BTC)
    assert cancelled["status"] == "canceled"
    assert await exchange.fetch_open_orders(BTC) == []
    assert (await exchange.fetch_order(order["id"], BTC))["status"] == "canceled"


async def test_market_order_fills_at_the_ask_and_opens_a_position(exchange: Any) -> None:
    order = await exchange.create_order(BTC, "market", "buy", 0.01)
    assert order["status"] == "closed" and order["filled"] == 0.01 and order["average"] == 64000.1
    trades = await exchange.fetch_my_trades(BTC)
    assert [(t["side"], t["price"], t["amount"], t["takerOrMaker"]) for t in trades] == [
        ("buy", 64000.1, 0.01, "taker")
    ]
    assert trades[0]["fee"]["cost"] == pytest.approx(64000.1 * 0.01 * 0.0005)
    positions = await exchange.fetch_positions([BTC])
    assert [(p["symbol"], p["side"], p["contracts"], p["entryPrice"]) for p in positions] == [
        (BTC, "long", 0.01, 64000.1)
    ]


async def test_post_only_order_that_would_not_cross_rests_as_gtx(exchange: Any) -> None:
    order = await exchange.create_order(BTC, "limit", "sell", 0.01, 64100, {"postOnly": True})
    assert order["status"] == "open" and order["postOnly"] is True and order["timeInForce"] == "PO"


async def test_post_only_order_that_would_cross_raises_order_not_fillable(exchange: Any) -> None:
    with pytest.raises(ccxt.OrderNotFillable):
        await exchange.create_order(BTC, "limit", "buy", 0.01, 64000.1, {"postOnly": True})
    assert await exchange.fetch_open_orders(BTC) == []


async def test_reduce_only_order_closes_part_of_a_position(exchange: Any) -> None:
    await exchange.create_order(BTC, "market", "buy", 0.02)
    closing = await exchange.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    assert closing["status"] == "closed" and closing["reduceOnly"] is True and closing["average"] == 64000.0
    positions = await exchange.fetch_positions([BTC])
    assert positions[0]["contracts"] == 0.01 and positions[0]["side"] == "long"


async def test_reduce_only_order_without_a_position_is_rejected(exchange: Any) -> None:
    with pytest.raises(ccxt.InvalidOrder):
        await exchange.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})


async def test_create_orders_batch_of_five_with_one_invalid_returns_one_rejected(exchange: Any) -> None:
    requests = [
        {"symbol": BTC, "type": "limit", "side": "buy", "amount": 0.01, "price": 60000 + i, "params": {}}
        for i in range(4)
    ]
    requests.insert(2, {"symbol": BTC, "type": "limit", "side": "buy", "amount": 0.001, "price": 60000, "params": {}})
    results = await exchange.create_orders(requests)
    statuses = sorted(r["status"] for r in results)
    assert statuses == ["open", "open", "open", "open", "rejected"]
    rejected = next(r for r in results if r["status"] == "rejected")
    assert rejected["info"]["code"] == -4164
    assert sorted(o["price"] for o in await exchange.fetch_open_orders(BTC)) == [60000, 60001, 60002, 60003]


async def test_edit_order_keeps_the_ids_and_changes_price_and_quantity(exchange: Any) -> None:
    order = await exchange.create_order(BTC, "limit", "buy", 0.01, 63000, {"clientOrderId": "PMSedit_1"})
    edited = await exchange.edit_order(order["id"], BTC, "limit", "buy", 0.02, 63100)
    assert edited["id"] == order["id"] and edited["clientOrderId"] == "PMSedit_1"
    assert edited["price"] == 63100.0 and edited["amount"] == 0.02 and edited["status"] == "open"


async def test_cancel_orders_cancels_each_listed_order(exchange: Any) -> None:
    ids = [(await exchange.create_order(BTC, "limit", "buy", 0.01, 62000 + i))["id"] for i in range(3)]
    cancelled = await exchange.cancel_orders(ids, BTC)
    assert sorted(o["id"] for o in cancelled) == sorted(ids)
    assert all(o["status"] == "canceled" for o in cancelled)
    assert await exchange.fetch_open_orders(BTC) == []


async def test_resting_order_fills_when_the_quote_crosses_it(exchange: Any, sim: SimExchange) -> None:
    order = await exchange.create_order(BTC, "limit", "buy", 0.01, 63990)
    await push_quote(sim, "BTCUSDT", "63980.0", "63985.0")
    fetched = await exchange.fetch_order(order["id"], BTC)
    assert fetched["status"] == "closed" and fetched["average"] == 63990.0
    trades = await exchange.fetch_my_trades(BTC)
    assert [(t["price"], t["takerOrMaker"]) for t in trades] == [(63990.0, "maker")]


async def test_fetch_positions_reports_pnl_at_the_mark(exchange: Any, sim: SimExchange) -> None:
    await exchange.create_order(ETH, "market", "sell", 1)
    from simexchange.tests.conftest import push_mark

    await push_mark(sim, "ETHUSDT", "3390.00")
    positions = await exchange.fetch_positions([ETH])
    assert positions[0]["side"] == "short" and positions[0]["contracts"] == 1.0
    assert Decimal(str(positions[0]["unrealizedPnl"])) == Decimal("10.00")
