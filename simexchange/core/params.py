"""Request parameters as Binance receives them (strings, or typed values in-process) parsed into requests."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from simexchange.core import errors
from simexchange.core.frozen import quick_init
from simexchange.core.orders import CONDITIONAL_TYPES, LIMIT, MARKET, ORDER_TYPES, SIDES, TIME_IN_FORCES

Params = Mapping[str, object]

CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
_INTEGER = re.compile(r"^[0-9]{1,20}$")
_INTEGER_RANGE = "^[0-9]{1,20}$"


@quick_init
@dataclass(frozen=True, slots=True)
class NewOrderRequest:
    """POST /fapi/v1/order, validated for shape (filters and margin are checked by the engine)."""

    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    price: Decimal | None
    time_in_force: str | None
    reduce_only: bool
    client_order_id: str | None
    response_type: str


@dataclass(frozen=True, slots=True)
class ModifyOrderRequest:
    """PUT /fapi/v1/order: new price and quantity for an open LIMIT order."""

    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    order_id: int | None
    orig_client_order_id: str | None


@quick_init
@dataclass(frozen=True, slots=True)
class OrderRef:
    """An order named by id or client id within a symbol (cancel and query)."""

    symbol: str
    order_id: int | None
    orig_client_order_id: str | None


def _text(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        raise errors.illegal_chars(name, _DECIMAL_RANGE)  # floats would smuggle binary rounding into money
    return str(value)


def required_text(params: Params, name: str) -> str:
    """A parameter as text; -1102 if missing or empty."""
    value = _text(params, name)
    if value is None:
        raise errors.mandatory_param(name)
    return value


def optional_decimal(params: Params, name: str) -> Decimal | None:
    """A decimal parameter (Binance's pattern, no floats); -1100 if malformed."""
    value = _text(params, name)
    if value is None:
        return None
    if not _DECIMAL.match(value):
        raise errors.illegal_chars(name, _DECIMAL_RANGE)
    return Decimal(value)


def required_decimal(params: Params, name: str) -> Decimal:
    """A decimal parameter; -1102 if missing, -1100 if malformed."""
    value = optional_decimal(params, name)
    if value is None:
        raise errors.mandatory_param(name)
    return value


def optional_int(params: Params, name: str) -> int | None:
    """An integer parameter; -1100 if malformed."""
    value = _text(params, name)
    if value is None:
        return None
    if not _INTEGER.match(value):
        raise errors.illegal_chars(name, _INTEGER_RANGE)
    return int(value)


def optional_bool(params: Params, name: str) -> bool:
    """ "true"/"false" (any case) or a bool; -1130 otherwise; False when absent."""
    value = _text(params, name)
    if value is None:
        return False
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise errors.invalid_parameter(name)
    return lowered == "true"


def client_order_id(params: Params, name: str) -> str | None:
    """A client order id matching Binance's pattern; -4015 otherwise."""
    value = _text(params, name)
    if value is not None and not CLIENT_ORDER_ID.match(value):
        raise errors.bad_client_order_id()
    return value


def symbol_of(params: Params, known: Mapping[str, object]) -> str:
    """The (upper-cased) symbol; -1102 if missing, -1121 if unknown."""
    symbol = required_text(params, "symbol").upper()
    if symbol not in known:
        raise errors.bad_symbol()
    return symbol


def _order_type(params: Params) -> str:
    order_type = required_text(params, "type").upper()
    if order_type in CONDITIONAL_TYPES:
        raise errors.use_algo_endpoint()
    if order_type not in ORDER_TYPES:
        raise errors.invalid_order_type()
    return order_type


def _side(params: Params) -> str:
    side = required_text(params, "side").upper()
    if side not in SIDES:
        raise errors.invalid_side()
    return side


def _time_in_force(params: Params, order_type: str) -> str | None:
    tif = _text(params, "timeInForce")
    if order_type == MARKET:
        return None  # Binance ignores it on MARKET orders and shows GTC
    if tif is None:
        raise errors.mandatory_param("timeInForce")
    if tif.upper() not in TIME_IN_FORCES:
        raise errors.invalid_tif()
    return tif.upper()


def _one_way_only(params: Params) -> None:
    position_side = _text(params, "positionSide")
    if position_side is not None and position_side.upper() != "BOTH":
        raise errors.position_side_mismatch()


def _response_type(params: Params) -> str:
    value = (_text(params, "newOrderRespType") or "ACK").upper()
    if value not in ("ACK", "RESULT"):
        raise errors.invalid_new_order_resp_type()
    return value


def parse_new_order(params: Params, known_symbols: Mapping[str, object]) -> NewOrderRequest:
    """Shape checks for a new order, in Binance's order: symbol, side, type, quantity, price, flags."""
    symbol = symbol_of(params, known_symbols)
    side = _side(params)
    order_type = _order_type(params)
    quantity = required_decimal(params, "quantity")
    price = optional_decimal(params, "price")
    if order_type == LIMIT and price is None:
        raise errors.mandatory_param("price")
    if order_type == MARKET and price is not None:
        raise errors.param_not_required("price")
    time_in_force = _time_in_force(params, order_type)
    _one_way_only(params)
    return NewOrderRequest(
        symbol=symbol,
        side=side,
        order_type=order_type,
        quantity=quantity,
        price=price,
        time_in_force=time_in_force,
        reduce_only=optional_bool(params, "reduceOnly"),
        client_order_id=client_order_id(params, "newClientOrderId"),
        response_type=_response_type(params),
    )


def parse_order_ref(params: Params, known_symbols: Mapping[str, object]) -> OrderRef:
    """symbol plus orderId or origClientOrderId (-1102 when both are missing)."""
    symbol = symbol_of(params, known_symbols)
    order_id = optional_int(params, "orderId")
    orig = _text(params, "origClientOrderId")
    if order_id is None and orig is None:
        raise errors.either_param("orderId", "origClientOrderId")
    return OrderRef(symbol, order_id, orig)


def parse_modify(params: Params, known_symbols: Mapping[str, object]) -> ModifyOrderRequest:
    """Shape checks for PUT /fapi/v1/order (symbol, order reference, side, quantity, price)."""
    ref = parse_order_ref(params, known_symbols)
    return ModifyOrderRequest(
        symbol=ref.symbol,
        side=_side(params),
        quantity=required_decimal(params, "quantity"),
        price=required_decimal(params, "price"),
        order_id=ref.order_id,
        orig_client_order_id=ref.orig_client_order_id,
    )


# Typed requests (in-process callers) ------------------------------------------------------------------
# A caller holding typed values may skip the text round trip, but only where it changes nothing: each
# function below returns exactly what the parser would make of the values' wire text, or None when that
# text would need the parser (an error to raise in Binance's order, or a number whose text is not itself).

_MAX_INTEGER_PART = Decimal(10) ** 20


def _wire_exact(value: Decimal) -> bool:
    """True when f"{value:f}" matches Binance's decimal pattern and parses back to this very Decimal."""
    if not value.is_finite() or value.is_signed():
        return False
    exponent = value.as_tuple().exponent
    # exponent <= 0: the text is the digits as they are; -20: at most 20 decimals; < 1e20: at most 20 integer digits
    return -20 <= exponent <= 0 and value < _MAX_INTEGER_PART  # type: ignore[operator]


def typed_new_order(
    known_symbols: Mapping[str, object],
    *,
    symbol: str,
    side: str,
    order_type: str,
    quantity: Decimal,
    price: Decimal | None,
    time_in_force: str | None,
    reduce_only: bool,
    client_order_id: str | None,
    response_type: str = "RESULT",
) -> NewOrderRequest | None:
    """parse_new_order of these values as text (timeInForce sent for LIMIT only), or None if that needs the parser."""
    symbol = symbol.upper()
    order_type = order_type.upper()
    side = side.upper()
    if symbol not in known_symbols or side not in SIDES or order_type not in ORDER_TYPES:
        return None
    if not _wire_exact(quantity) or (price is not None and not _wire_exact(price)):
        return None
    if order_type == LIMIT:
        if price is None or not time_in_force or time_in_force.upper() not in TIME_IN_FORCES:
            return None
        time_in_force = time_in_force.upper()
    elif price is not None:
        return None
    else:
        time_in_force = None
    if not client_order_id or not CLIENT_ORDER_ID.match(client_order_id):
        return None
    if response_type not in ("ACK", "RESULT"):
        return None
    return NewOrderRequest(symbol, side, order_type, quantity, price, time_in_force, reduce_only, client_order_id,
                           response_type)


def typed_order_ref(known_symbols: Mapping[str, object], *, symbol: str, orig_client_order_id: str) -> OrderRef | None:
    """parse_order_ref of {symbol, origClientOrderId}, or None if that needs the parser."""
    symbol = symbol.upper()
    if not symbol or symbol not in known_symbols or not orig_client_order_id:
        return None
    return OrderRef(symbol, None, orig_client_order_id)
