"""Account endpoints: account, balance, positionRisk, leverage, brackets, listenKey and small settings."""

from __future__ import annotations

from typing import Any

from simexchange import wire
from simexchange.core import ExchangeError
from simexchange.core.errors import invalid_parameter
from simexchange.server.context import ServerContext
from simexchange.server.errors import unknown_listen_key
from simexchange.server.http import SIGNED, USER_STREAM, ApiRequest, Endpoint

Json = Any


def account_v2(ctx: ServerContext, req: ApiRequest) -> Json:
    return wire.account_v2(ctx.engine.account(req.account), ctx.specs)


def account_v3(ctx: ServerContext, req: ApiRequest) -> Json:
    return wire.account_v3(ctx.engine.account(req.account), ctx.specs)


def balance(ctx: ServerContext, req: ApiRequest) -> Json:
    return wire.balance(ctx.engine.account(req.account))


def position_risk_v2(ctx: ServerContext, req: ApiRequest) -> Json:
    symbol = req.params.opt_symbol(ctx.specs)
    views = ctx.engine.positions(req.account, symbol)
    return [wire.position_risk_v2(v, ctx.specs[v.symbol]) for v in views]


def position_risk_v3(ctx: ServerContext, req: ApiRequest) -> Json:
    """v3 lists only symbols with a position or open orders (unless one symbol is asked for)."""
    symbol = req.params.opt_symbol(ctx.specs)
    views = ctx.engine.positions(req.account, symbol, active_only=symbol is None)
    return [wire.position_risk_v3(v, ctx.specs[v.symbol]) for v in views]


def set_leverage(ctx: ServerContext, req: ApiRequest) -> Json:
    symbol = req.params.symbol(ctx.specs)
    leverage = req.params.integer("leverage")
    return wire.leverage_change(ctx.engine.set_leverage(req.account, symbol, leverage))


def leverage_bracket(ctx: ServerContext, req: ApiRequest) -> Json:
    symbol = req.params.opt_symbol(ctx.specs)
    tables = ctx.engine.leverage_brackets(symbol)
    if symbol is not None:
        return wire.leverage_bracket(symbol, tables[symbol])
    return wire.leverage_brackets(tables)


def commission_rate(ctx: ServerContext, req: ApiRequest) -> Json:
    symbol = req.params.symbol(ctx.specs)
    config = ctx.engine.config
    return {
        "symbol": symbol,
        "makerCommissionRate": wire.plain(config.maker_fee_rate),
        "takerCommissionRate": wire.plain(config.taker_fee_rate),
    }


def position_side_dual(ctx: ServerContext, req: ApiRequest) -> Json:
    return {"dualSidePosition": False}


def set_margin_type(ctx: ServerContext, req: ApiRequest) -> Json:
    req.params.symbol(ctx.specs)
    margin_type = req.params.text("marginType").upper()
    if margin_type == "CROSSED":
        raise ExchangeError(-4046, "No need to change margin type.")
    raise invalid_parameter("marginType")  # only cross margin is simulated


# listenKey ----------------------------------------------------------------------------------------------
def listen_key_create(ctx: ServerContext, req: ApiRequest) -> Json:
    entry = ctx.listen_keys.create(req.account, ctx.now_ms())
    return {"listenKey": entry.key}


def listen_key_keep_alive(ctx: ServerContext, req: ApiRequest) -> Json:
    entry = ctx.listen_keys.keep_alive(req.account, req.params.opt_text("listenKey"), ctx.now_ms())
    if entry is None:
        raise unknown_listen_key()
    return {"listenKey": entry.key}


def listen_key_close(ctx: ServerContext, req: ApiRequest) -> Json:
    entry = ctx.listen_keys.close(req.account, req.params.opt_text("listenKey"))
    if entry is None:
        raise unknown_listen_key()
    for conn in ctx.users.connections(req.account):
        if conn.listen_key == entry.key:
            conn.close_soon()
    return {}


ACCOUNT_ENDPOINTS = [
    Endpoint("GET", "/fapi/v2/account", SIGNED, 5, account_v2),
    Endpoint("GET", "/fapi/v3/account", SIGNED, 5, account_v3),
    Endpoint("GET", "/fapi/v2/balance", SIGNED, 5, balance),
    Endpoint("GET", "/fapi/v3/balance", SIGNED, 5, balance),
    Endpoint("GET", "/fapi/v2/positionRisk", SIGNED, 5, position_risk_v2),
    Endpoint("GET", "/fapi/v3/positionRisk", SIGNED, 5, position_risk_v3),
    Endpoint("POST", "/fapi/v1/leverage", SIGNED, 1, set_leverage),
    Endpoint("GET", "/fapi/v1/leverageBracket", SIGNED, 1, leverage_bracket),
    Endpoint("GET", "/fapi/v1/commissionRate", SIGNED, 20, commission_rate),
    Endpoint("GET", "/fapi/v1/positionSide/dual", SIGNED, 30, position_side_dual),
    Endpoint("POST", "/fapi/v1/marginType", SIGNED, 1, set_margin_type),
    Endpoint("POST", "/fapi/v1/listenKey", USER_STREAM, 1, listen_key_create),
    Endpoint("PUT", "/fapi/v1/listenKey", USER_STREAM, 1, listen_key_keep_alive),
    Endpoint("DELETE", "/fapi/v1/listenKey", USER_STREAM, 1, listen_key_close),
]
