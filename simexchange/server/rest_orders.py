"""Order endpoints: order (POST/PUT/GET/DELETE), batchOrders, openOrders, allOrders, userTrades."""

from __future__ import annotations

import json
from typing import Any

from simexchange import wire
from simexchange.core import ExchangeError, OrderView
from simexchange.core.errors import invalid_parameter, too_many_batch_orders
from simexchange.server.context import ServerContext
from simexchange.server.errors import overloaded
from simexchange.server.http import SIGNED, ApiRequest, Endpoint
from simexchange.server.params import Params

Json = Any
# ccxt sends the batch-cancel lists in lower case (as Binance's docs once spelt them); the core reads camelCase.
_CANCEL_LIST_ALIASES = {"orderidlist": "orderIdList", "origclientorderidlist": "origClientOrderIdList"}


def _reject_fault(ctx: ServerContext, req: ApiRequest) -> ExchangeError | None:
    fault = ctx.faults.take("reject_orders", path=req.path, method=req.method, account=req.account_id)
    if fault is None:
        return None
    default = overloaded()
    return ExchangeError(fault.code or default.code, fault.msg or default.msg, fault.status or default.http_status)


def _render(ctx: ServerContext, view: OrderView) -> Json:
    return wire.order(view, ctx.specs[view.symbol])


def _batch_json(params: Params, name: str, max_len: int) -> list[dict[str, object]]:
    """Parse a JSON array of order objects; floats keep their literal text so no binary rounding gets in."""
    text = params.text(name)
    try:
        items = json.loads(text, parse_float=str)
    except (ValueError, RecursionError) as exc:
        raise invalid_parameter(name) from exc
    if not isinstance(items, list):
        raise invalid_parameter(name)
    if not items or len(items) > max_len:
        raise too_many_batch_orders(len(items))
    if not all(isinstance(item, dict) for item in items):
        raise invalid_parameter(name)
    return [_stringify(item) for item in items]


def _stringify(item: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in item.items():
        if isinstance(value, dict | list):
            raise invalid_parameter(str(key))
        out[str(key)] = value
    return out


def new_order(ctx: ServerContext, req: ApiRequest) -> Json:
    rejected = _reject_fault(ctx, req)
    if rejected is not None:
        raise rejected
    return _render(ctx, ctx.engine.new_order(req.account, req.params.as_dict()))


def new_orders_batch(ctx: ServerContext, req: ApiRequest) -> Json:
    items = _batch_json(req.params, "batchOrders", ctx.engine.config.max_batch_orders)
    results: list[OrderView | ExchangeError] = []
    for item in items:
        rejected = _reject_fault(ctx, req)
        if rejected is not None:
            results.append(rejected)
            continue
        try:
            results.append(ctx.engine.new_order(req.account, item))
        except ExchangeError as err:
            results.append(err)
    return wire.batch_results(results, ctx.specs)


def modify_order(ctx: ServerContext, req: ApiRequest) -> Json:
    return _render(ctx, ctx.engine.modify_order(req.account, req.params.as_dict()))


def modify_orders_batch(ctx: ServerContext, req: ApiRequest) -> Json:
    items = _batch_json(req.params, "batchOrders", ctx.engine.config.max_batch_orders)
    results: list[OrderView | ExchangeError] = []
    for item in items:
        try:
            results.append(ctx.engine.modify_order(req.account, item))
        except ExchangeError as err:
            results.append(err)
    return wire.batch_results(results, ctx.specs)


def cancel_order(ctx: ServerContext, req: ApiRequest) -> Json:
    return _render(ctx, ctx.engine.cancel_order(req.account, req.params.as_dict()))


def cancel_orders_batch(ctx: ServerContext, req: ApiRequest) -> Json:
    params = req.params.as_dict()
    for alias, name in _CANCEL_LIST_ALIASES.items():
        if alias in params and name not in params:
            params[name] = params.pop(alias)
    return wire.batch_results(ctx.engine.cancel_orders_batch(req.account, params), ctx.specs)


def cancel_all_orders(ctx: ServerContext, req: ApiRequest) -> Json:
    ctx.engine.cancel_all_orders(req.account, req.params.as_dict())
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def query_order(ctx: ServerContext, req: ApiRequest) -> Json:
    return _render(ctx, ctx.engine.query_order(req.account, req.params.as_dict()))


def open_order(ctx: ServerContext, req: ApiRequest) -> Json:
    """GET /fapi/v1/openOrder: like GET order, but only an open one (-2013 otherwise)."""
    view = ctx.engine.query_order(req.account, req.params.as_dict())
    if not view.is_open:
        raise ExchangeError(-2013, "Order does not exist.")
    return _render(ctx, view)


def open_orders(ctx: ServerContext, req: ApiRequest) -> Json:
    symbol = req.params.opt_symbol(ctx.specs)
    return wire.orders(ctx.engine.open_orders(req.account, symbol), ctx.specs)


def all_orders(ctx: ServerContext, req: ApiRequest) -> Json:
    return wire.orders(ctx.engine.all_orders(req.account, req.params.as_dict()), ctx.specs)


def user_trades(ctx: ServerContext, req: ApiRequest) -> Json:
    trades = ctx.engine.user_trades(req.account, req.params.as_dict())
    return [wire.user_trade(t, ctx.specs[t.symbol]) for t in trades]


def _open_orders_weight(params: Params) -> int:
    return 1 if params.has("symbol") else 40


ORDER_ENDPOINTS = [
    Endpoint("POST", "/fapi/v1/order", SIGNED, 0, new_order),
    Endpoint("PUT", "/fapi/v1/order", SIGNED, 1, modify_order),
    Endpoint("GET", "/fapi/v1/order", SIGNED, 1, query_order),
    Endpoint("DELETE", "/fapi/v1/order", SIGNED, 1, cancel_order),
    Endpoint("POST", "/fapi/v1/batchOrders", SIGNED, 5, new_orders_batch),
    Endpoint("PUT", "/fapi/v1/batchOrders", SIGNED, 5, modify_orders_batch),
    Endpoint("DELETE", "/fapi/v1/batchOrders", SIGNED, 1, cancel_orders_batch),
    Endpoint("DELETE", "/fapi/v1/allOpenOrders", SIGNED, 1, cancel_all_orders),
    Endpoint("GET", "/fapi/v1/openOrder", SIGNED, 1, open_order),
    Endpoint("GET", "/fapi/v1/openOrders", SIGNED, _open_orders_weight, open_orders),
    Endpoint("GET", "/fapi/v1/allOrders", SIGNED, 5, all_orders),
    Endpoint("GET", "/fapi/v1/userTrades", SIGNED, 5, user_trades),
]
