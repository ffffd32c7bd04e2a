"""Algo-order endpoints (POST/GET/DELETE algoOrder, openAlgoOrders, allAlgoOrders, algoOpenOrders) and ALGO_UPDATE."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simexchange.core import ExchangeError, SymbolSpec
from simexchange.core import errors as core_errors
from simexchange.core.filters import check_price, check_quantity
from simexchange.server.algo import ALGO_TYPES, LIMIT_TYPES, TRAILING, AlgoOrder
from simexchange.server.algo_wire import algo_json
from simexchange.server.context import ServerContext
from simexchange.server.http import SIGNED, ApiRequest, Endpoint
from simexchange.server.params import Params

Json = Any
ZERO = Decimal(0)
WORKING_TYPES = ("MARK_PRICE", "CONTRACT_PRICE")
TIME_IN_FORCES = ("GTC", "IOC", "FOK", "GTX")
MAX_CALLBACK_RATE = Decimal(10)
MIN_CALLBACK_RATE = Decimal("0.1")


def _grid_decimal(params: Params, name: str, check: Any, required: bool) -> Decimal:
    value = params.opt_decimal(name)
    if value is None:
        if required:
            raise core_errors.mandatory_param(name)
        return ZERO
    check(value)
    return value


def _trailing_fields(params: Params, spec: SymbolSpec) -> tuple[Decimal, Decimal]:
    rate = params.decimal("callbackRate")
    if not MIN_CALLBACK_RATE <= rate <= MAX_CALLBACK_RATE:
        raise ExchangeError(-2007, "Invalid callBackRate.")
    activate = _grid_decimal(params, "activatePrice", lambda p: check_price(spec, p), required=False)
    return rate, activate


def parse_algo(ctx: ServerContext, req: ApiRequest) -> AlgoOrder:
    """Validate POST /fapi/v1/algoOrder (algoType CONDITIONAL) into an AlgoOrder; nothing is stored yet."""
    p = req.params
    if p.text("algoType") != "CONDITIONAL":
        raise core_errors.invalid_parameter("algoType")
    symbol = p.symbol(ctx.specs)
    spec = ctx.specs[symbol]
    side = p.enum("side", ("BUY", "SELL"), core_errors.invalid_side())
    order_type = p.enum("type", ALGO_TYPES, core_errors.invalid_order_type())
    close_position = bool(p.opt_bool("closePosition"))
    limit = order_type in LIMIT_TYPES
    lot = "LIMIT" if limit else "MARKET"
    quantity = _grid_decimal(p, "quantity", lambda q: check_quantity(spec, lot, q), not close_position)
    price = _grid_decimal(p, "price", lambda v: check_price(spec, v), limit)
    trigger = _grid_decimal(p, "triggerPrice", lambda v: check_price(spec, v), order_type != TRAILING)
    rate, activate = _trailing_fields(p, spec) if order_type == TRAILING else (ZERO, ZERO)
    tif = p.opt_enum("timeInForce", TIME_IN_FORCES, core_errors.invalid_tif()) or "GTC"
    client_id = p.client_id("clientAlgoId") or f"sim_algo_{ctx.algos.next_id()}"
    existing = ctx.algos.find(req.account, None, client_id)
    if existing is not None and existing.is_open:
        raise core_errors.duplicate_client_order_id()
    working_type = p.opt_enum("workingType", WORKING_TYPES, core_errors.invalid_parameter("workingType"))
    working_type = working_type or "CONTRACT_PRICE"
    now = ctx.now_ms()
    return AlgoOrder(
        algo_id=ctx.algos.next_id(),
        client_algo_id=client_id,
        account_id=req.account,
        symbol=symbol,
        side=side,
        order_type=order_type,
        time_in_force=tif,
        quantity=quantity,
        price=price,
        trigger_price=trigger,
        working_type=working_type,
        reduce_only=bool(p.opt_bool("reduceOnly")),
        close_position=close_position,
        price_protect=bool(p.opt_bool("priceProtect")),
        callback_rate=rate,
        activate_price=activate,
        stp_mode=p.opt_text("selfTradePreventionMode") or "EXPIRE_MAKER",
        create_time_ms=now,
        update_time_ms=now,
    )


def new_algo_order(ctx: ServerContext, req: ApiRequest) -> Json:
    order = parse_algo(ctx, req)
    if len(ctx.algos.open_for(req.account, order.symbol)) >= ctx.specs[order.symbol].max_num_algo_orders:
        raise ExchangeError(-4045, "Reach max stop order limit.")
    ctx.engine.rate_limiter.charge_order(req.account)
    ctx.algos.add(order)
    return algo_json(order, ctx.specs[order.symbol])


def _find(ctx: ServerContext, req: ApiRequest, missing: ExchangeError) -> AlgoOrder:
    algo_id = req.params.opt_integer("algoId")
    client_id = req.params.opt_text("clientAlgoId")
    if algo_id is None and client_id is None:
        raise core_errors.either_param("algoId", "clientAlgoId")
    found = ctx.algos.find(req.account, algo_id, client_id)
    if found is None:
        raise missing
    return found


def cancel_algo_order(ctx: ServerContext, req: ApiRequest) -> Json:
    order = _find(ctx, req, core_errors.unknown_order())
    if not order.is_open:
        raise core_errors.unknown_order()
    ctx.algos.cancel(order)
    return {"algoId": order.algo_id, "clientAlgoId": order.client_algo_id, "code": "200", "msg": "success"}


def query_algo_order(ctx: ServerContext, req: ApiRequest) -> Json:
    order = _find(ctx, req, core_errors.order_does_not_exist())
    return algo_json(order, ctx.specs[order.symbol])


def open_algo_orders(ctx: ServerContext, req: ApiRequest) -> Json:
    symbol = req.params.opt_symbol(ctx.specs)
    return [algo_json(o, ctx.specs[o.symbol]) for o in ctx.algos.open_for(req.account, symbol)]


def all_algo_orders(ctx: ServerContext, req: ApiRequest) -> Json:
    symbol = req.params.symbol(ctx.specs)
    return [algo_json(o, ctx.specs[o.symbol]) for o in ctx.algos.all_for(req.account, symbol)]


def cancel_all_algo_orders(ctx: ServerContext, req: ApiRequest) -> Json:
    symbol = req.params.symbol(ctx.specs)
    for order in ctx.algos.open_for(req.account, symbol):
        ctx.algos.cancel(order)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _per_symbol(light: int, heavy: int) -> Any:
    return lambda params: light if params.has("symbol") else heavy


ALGO_ENDPOINTS = [
    Endpoint("POST", "/fapi/v1/algoOrder", SIGNED, 0, new_algo_order),
    Endpoint("DELETE", "/fapi/v1/algoOrder", SIGNED, 1, cancel_algo_order),
    Endpoint("GET", "/fapi/v1/algoOrder", SIGNED, 1, query_algo_order),
    Endpoint("GET", "/fapi/v1/openAlgoOrders", SIGNED, _per_symbol(1, 40), open_algo_orders),
    Endpoint("GET", "/fapi/v1/allAlgoOrders", SIGNED, 5, all_algo_orders),
    Endpoint("DELETE", "/fapi/v1/algoOpenOrders", SIGNED, 1, cancel_all_algo_orders),
]
