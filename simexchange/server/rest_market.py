"""Public endpoints: ping, time, exchangeInfo, and the latest quote and mark price per symbol."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simexchange import wire
from simexchange.marketdata import MarkPrice
from simexchange.server.context import ServerContext
from simexchange.server.http import NONE, ApiRequest, Endpoint
from simexchange.server.params import Params

Json = Any


def ping(ctx: ServerContext, req: ApiRequest) -> Json:
    return {}


def server_time(ctx: ServerContext, req: ApiRequest) -> Json:
    return wire.server_time(ctx.now_ms())


def exchange_info(ctx: ServerContext, req: ApiRequest) -> Json:
    engine = ctx.engine
    return wire.exchange_info(engine.symbols, engine.config.rate_limits, ctx.now_ms())


def _symbols(ctx: ServerContext, req: ApiRequest) -> list[str]:
    symbol = req.params.opt_symbol(ctx.specs)
    return [symbol] if symbol is not None else list(ctx.specs)


def book_ticker(ctx: ServerContext, req: ApiRequest) -> Json:
    """GET /fapi/v1/ticker/bookTicker: one object for a symbol, a list otherwise (symbols never quoted are left out)."""
    rows = []
    for symbol in _symbols(ctx, req):
        quote = ctx.engine.market(symbol).quote
        if quote is not None:
            rows.append(wire.book_ticker_rest(quote, ctx.specs[symbol]))
    if req.params.has("symbol"):
        return rows[0] if rows else {}
    return rows


def premium_index(ctx: ServerContext, req: ApiRequest) -> Json:
    """GET /fapi/v1/premiumIndex: mark, index and funding as last received."""
    rows = []
    for symbol in _symbols(ctx, req):
        market = ctx.engine.market(symbol)
        if market.mark_price is None:
            continue
        mark = MarkPrice(
            symbol=symbol,
            mark_price=market.mark_price,
            index_price=market.index_price if market.index_price is not None else market.mark_price,
            estimated_settle_price=market.mark_price,
            funding_rate=market.funding_rate if market.funding_rate is not None else Decimal(0),
            next_funding_time_ms=market.next_funding_time_ms,
            event_time_ms=ctx.now_ms(),
        )
        rows.append(wire.premium_index(mark))
    if req.params.has("symbol"):
        return rows[0] if rows else {}
    return rows


def _per_symbol_weight(light: int, heavy: int) -> Any:
    def weight(params: Params) -> int:
        return light if params.has("symbol") else heavy

    return weight


MARKET_ENDPOINTS = [
    Endpoint("GET", "/fapi/v1/ping", NONE, 1, ping),
    Endpoint("GET", "/fapi/v1/time", NONE, 1, server_time),
    Endpoint("GET", "/fapi/v1/exchangeInfo", NONE, 1, exchange_info),
    Endpoint("GET", "/fapi/v1/ticker/bookTicker", NONE, _per_symbol_weight(2, 5), book_ticker),
    Endpoint("GET", "/fapi/v1/premiumIndex", NONE, _per_symbol_weight(1, 10), premium_index),
]
