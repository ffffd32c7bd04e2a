"""Algo orders in Binance's JSON: the REST shape and the ALGO_UPDATE user-data event."""

from __future__ import annotations

from typing import Any

from simexchange import wire
from simexchange.core import SymbolSpec
from simexchange.server.algo import LIMIT_TYPES, AlgoOrder

Json = Any


def algo_json(order: AlgoOrder, spec: SymbolSpec) -> Json:
    """An algo order as POST/GET algoOrder and the algo lists show it."""
    return {
        "algoId": order.algo_id,
        "clientAlgoId": order.client_algo_id,
        "algoType": "CONDITIONAL",
        "orderType": order.order_type,
        "symbol": order.symbol,
        "side": order.side,
        "positionSide": "BOTH",
        "timeInForce": order.time_in_force,
        "quantity": wire.fixed(order.quantity, spec.quantity_precision),
        "algoStatus": order.status,
        "actualOrderId": order.actual_order_id,
        "triggerPrice": wire.fixed(order.trigger_price, spec.price_precision),
        "price": wire.fixed(order.price, spec.price_precision),
        "icebergQuantity": None,
        "selfTradePreventionMode": order.stp_mode,
        "workingType": order.working_type,
        "priceMatch": "NONE",
        "closePosition": order.close_position,
        "priceProtect": order.price_protect,
        "reduceOnly": order.reduce_only,
        "activatePrice": wire.fixed(order.activate_price, spec.price_precision),
        "callbackRate": wire.plain(order.callback_rate),
        "createTime": order.create_time_ms,
        "updateTime": order.update_time_ms,
        "triggerTime": order.trigger_time_ms,
        "goodTillDate": 0,
    }


def algo_update(order: AlgoOrder, spec: SymbolSpec, now_ms: int) -> Json:
    """The ALGO_UPDATE user-data event (fields as in Binance's examples)."""
    body: Json = {
        "caid": order.client_algo_id,
        "aid": order.algo_id,
        "at": "CONDITIONAL",
        "o": order.order_type,
        "s": order.symbol,
        "S": order.side,
        "ps": "BOTH",
        "f": order.time_in_force,
        "q": wire.fixed(order.quantity, spec.quantity_precision),
        "X": order.status,
        "ai": order.actual_order_id,
        "ap": wire.fixed(order.actual_price, max(spec.price_precision, 5)),
        "aq": wire.fixed(order.actual_qty, spec.quantity_precision),
        "act": "MARKET" if order.order_type not in LIMIT_TYPES else "LIMIT",
        "tp": wire.fixed(order.trigger_price, spec.price_precision),
        "p": wire.fixed(order.price, spec.price_precision),
        "V": order.stp_mode,
        "wt": order.working_type,
        "pm": "NONE",
        "cp": order.close_position,
        "pP": order.price_protect,
        "R": order.reduce_only,
        "tt": order.trigger_time_ms,
        "gtd": 0,
    }
    if order.reject_reason:
        body["rm"] = order.reject_reason
    return {"e": "ALGO_UPDATE", "T": order.update_time_ms, "E": now_ms, "o": body}
