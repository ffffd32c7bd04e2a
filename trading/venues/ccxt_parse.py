"""Binance's raw payloads (REST `info` and user-data events) to the port's Decimal value types.

We parse the raw fields rather than ccxt's unified ones: Binance sends numbers as strings, so they
become Decimal exactly, and its statuses keep NEW apart from PARTIALLY_FILLED.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.money import ZERO, to_decimal
from trading.domain.instruments import InstrumentRules
from trading.domain.orders import OrderStatus
from trading.domain.types import OrderType, Side
from trading.venues.base import (
    AccountEvent,
    LeverageTier,
    Mark,
    OrderEvent,
    Quote,
    VenueBalance,
    VenueLimits,
    VenueOrder,
    VenuePosition,
    VenueTrade,
)

RAW_STATUS = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "CANCELLED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,  # self-trade prevention
    "REJECTED": OrderStatus.REJECTED,
    "NEW_INSURANCE": OrderStatus.NEW,  # liquidation orders, before they trade
    "NEW_ADL": OrderStatus.NEW,
}
UNIFIED_STATUS = {
    "open": OrderStatus.NEW,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
MARKET_LIKE_TYPES = frozenset({"MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET", "LIQUIDATION"})


def dec(value: Any, default: Decimal = ZERO) -> Decimal:
    """A Binance number (string, int, or a float as printed) as Decimal; missing or empty → default."""
    if value is None or value == "":
        return default
    return to_decimal(value if isinstance(value, str | int | Decimal) else str(value))


def order_status(raw: str | None, *, filled: Decimal = ZERO, quantity: Decimal | None = None,
                 unified: str | None = None) -> OrderStatus:
    """Binance's raw status (ccxt's unified one as a fallback), made consistent with the filled quantity.

    Liquidation and ADL orders report NEW_INSURANCE / NEW_ADL while already (partly) filled.
    """
    if raw is not None and raw.upper() in RAW_STATUS:
        status = RAW_STATUS[raw.upper()]
    else:
        status = UNIFIED_STATUS.get(unified or "", OrderStatus.UNKNOWN)
    if status is OrderStatus.NEW and filled > 0:
        return OrderStatus.FILLED if quantity is not None and filled >= quantity > 0 else OrderStatus.PARTIALLY_FILLED
    return status


def order_type(raw: str | None) -> OrderType:
    return OrderType.MARKET if (raw or "").upper() in MARKET_LIKE_TYPES else OrderType.LIMIT


def side(raw: str) -> Side:
    return Side.BUY if raw.upper() == "BUY" else Side.SELL


def _price_or_none(value: Any) -> Decimal | None:
    price = dec(value)
    return price if price > 0 else None


def order_from_rest(info: Mapping[str, Any]) -> VenueOrder:
    """GET/POST/PUT/DELETE /fapi/v1/order (RESULT) and the items of batchOrders and openOrders."""
    filled, quantity = dec(info.get("executedQty")), dec(info.get("origQty"))
    return VenueOrder(
        client_order_id=str(info.get("clientOrderId", "")),
        exchange_order_id=str(info.get("orderId", "")),
        symbol=str(info["symbol"]),
        side=side(str(info["side"])),
        order_type=order_type(info.get("origType") or info.get("type")),
        status=order_status(info.get("status"), filled=filled, quantity=quantity),
        quantity=quantity,
        filled_quantity=filled,
        average_price=_price_or_none(info.get("avgPrice")) if filled > 0 else None,
        price=_price_or_none(info.get("price")),
        reduce_only=bool(info.get("reduceOnly", False)),
        updated_ms=int(info.get("updateTime") or info.get("time") or 0),
    )


def order_event(message: Mapping[str, Any]) -> OrderEvent:
    """ORDER_TRADE_UPDATE: the order's state, plus the trade when the execution type is TRADE."""
    o = message["o"]
    filled, quantity = dec(o.get("z")), dec(o.get("q"))
    order = VenueOrder(
        client_order_id=str(o.get("c", "")),
        exchange_order_id=str(o.get("i", "")),
        symbol=str(o["s"]),
        side=side(str(o["S"])),
        order_type=order_type(o.get("ot") or o.get("o")),
        status=order_status(o.get("X"), filled=filled, quantity=quantity),
        quantity=quantity,
        filled_quantity=filled,
        average_price=_price_or_none(o.get("ap")) if filled > 0 else None,
        price=_price_or_none(o.get("p")),
        reduce_only=bool(o.get("R", False)),
        updated_ms=int(o.get("T") or message.get("T") or message.get("E") or 0),
    )
    execution_type = str(o.get("x", ""))
    trade = _event_trade(o, order) if _is_execution(execution_type, o) else None
    return OrderEvent(order=order, execution_type=execution_type, trade=trade, event_ms=int(message.get("E", 0)))


def _is_execution(execution_type: str, o: Mapping[str, Any]) -> bool:
    """TRADE, and CALCULATED with a quantity: liquidation and ADL fills arrive as CALCULATED."""
    if execution_type == "TRADE":
        return True
    return execution_type == "CALCULATED" and dec(o.get("l")) > 0 and bool(o.get("t"))


def _event_trade(o: Mapping[str, Any], order: VenueOrder) -> VenueTrade:
    return VenueTrade(
        trade_key=f"{order.symbol}:{o['t']}",
        symbol=order.symbol,
        client_order_id=order.client_order_id,
        exchange_order_id=order.exchange_order_id,
        side=order.side,
        price=dec(o.get("L")),
        quantity=dec(o.get("l")),
        fee=dec(o.get("n")),
        fee_asset=str(o.get("N") or ""),
        is_maker=bool(o.get("m", False)),
        realized_pnl=dec(o.get("rp")),
        time_ms=int(o.get("T", 0)),
    )


def account_event(message: Mapping[str, Any]) -> AccountEvent:
    """ACCOUNT_UPDATE: changed balances and positions. `cw` (cross wallet) stands in for available balance."""
    a = message.get("a", {})
    balances = tuple(
        VenueBalance(asset=str(b["a"]), wallet_balance=dec(b.get("wb")), available_balance=dec(b.get("cw")))
        for b in a.get("B", ())
    )
    positions = tuple(
        VenuePosition(symbol=str(p["s"]), quantity=dec(p.get("pa")), entry_price=dec(p.get("ep")),
                      unrealized_pnl=dec(p.get("up")))
        for p in a.get("P", ())
    )
    return AccountEvent(reason=str(a.get("m", "")), balances=balances, positions=positions,
                        event_ms=int(message.get("E", 0)))


def trade_from_rest(info: Mapping[str, Any], client_order_id: str) -> VenueTrade:
    """GET /fapi/v1/userTrades item; the client id comes from the order (userTrades does not carry it)."""
    symbol = str(info["symbol"])
    return VenueTrade(
        trade_key=f"{symbol}:{info['id']}",
        symbol=symbol,
        client_order_id=client_order_id,
        exchange_order_id=str(info.get("orderId", "")),
        side=side(str(info["side"])),
        price=dec(info.get("price")),
        quantity=dec(info.get("qty")),
        fee=dec(info.get("commission")),
        fee_asset=str(info.get("commissionAsset") or ""),
        is_maker=bool(info.get("maker", False)),
        realized_pnl=dec(info.get("realizedPnl")),
        time_ms=int(info.get("time", 0)),
    )


def position_from_rest(info: Mapping[str, Any]) -> VenuePosition:
    """GET /fapi/v3/positionRisk item (one-way mode: positionSide BOTH, signed amount)."""
    return VenuePosition(
        symbol=str(info["symbol"]),
        quantity=dec(info.get("positionAmt")),
        entry_price=dec(info.get("entryPrice")),
        mark_price=dec(info.get("markPrice")),
        unrealized_pnl=dec(info.get("unRealizedProfit")),
    )


def balance_from_rest(info: Mapping[str, Any]) -> VenueBalance:
    """GET /fapi/v3/account `assets` item."""
    return VenueBalance(asset=str(info["asset"]), wallet_balance=dec(info.get("walletBalance")),
                        available_balance=dec(info.get("availableBalance")))


def leverage_tiers_from_rest(item: Mapping[str, Any]) -> list[LeverageTier]:
    """One GET /fapi/v1/leverageBracket item, read like ccxt's parse_market_leverage_tiers (notionalFloor or
    qtyFloor, notionalCap or qtyCap, maintMarginRatio, initialLeverage) plus `cum`, which ccxt leaves in info."""
    return [LeverageTier(notional_floor=dec(b.get("notionalFloor", b.get("qtyFloor"))),
                         notional_cap=dec(b.get("notionalCap", b.get("qtyCap"))),
                         max_leverage=int(b["initialLeverage"]), maint_margin_ratio=dec(b["maintMarginRatio"]),
                         cum=dec(b.get("cum")))
            for b in sorted(item.get("brackets", []), key=lambda b: int(b.get("bracket", 0)))]


def instrument_from_exchange_info(symbol_info: Mapping[str, Any]) -> InstrumentRules:
    """One exchangeInfo `symbols` item with its filters."""
    filters = {f.get("filterType"): f for f in symbol_info.get("filters", ())}
    price, lot = filters.get("PRICE_FILTER", {}), filters.get("LOT_SIZE", {})
    band = filters.get("PERCENT_PRICE", {})
    return InstrumentRules(
        symbol=str(symbol_info["symbol"]),
        tick_size=dec(price.get("tickSize")),
        step_size=dec(lot.get("stepSize")),
        min_qty=dec(lot.get("minQty")),
        max_qty=dec(lot.get("maxQty")),
        min_notional=dec(filters.get("MIN_NOTIONAL", {}).get("notional")),
        min_price=dec(price.get("minPrice")),
        max_price=dec(price.get("maxPrice")),
        price_band_up=dec(band.get("multiplierUp"), Decimal("1.05")),
        price_band_down=dec(band.get("multiplierDown"), Decimal("0.95")),
        base_asset=str(symbol_info.get("baseAsset", "")),
        quote_asset=str(symbol_info.get("quoteAsset", "USDT")),
    )


_INTERVAL_MS = {"SECOND": 1_000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}


def limits_from_exchange_info(rate_limits: list[Mapping[str, Any]]) -> VenueLimits:
    """exchangeInfo `rateLimits`: the weight/minute and order/10 s and order/minute budgets (others in extra)."""
    defaults = VenueLimits()
    found: dict[str, int] = {}
    for item in rate_limits:
        kind = str(item.get("rateLimitType", ""))
        length_ms = _INTERVAL_MS.get(str(item.get("interval", "")), 0) * int(item.get("intervalNum", 1))
        found[f"{kind}_{length_ms}"] = int(item.get("limit", 0))
    return VenueLimits(
        request_weight_per_minute=found.pop("REQUEST_WEIGHT_60000", defaults.request_weight_per_minute),
        orders_per_10s=found.pop("ORDERS_10000", defaults.orders_per_10s),
        orders_per_minute=found.pop("ORDERS_60000", defaults.orders_per_minute),
        extra=found,
    )


def quote_from_book_ticker(symbol: str, info: Mapping[str, Any]) -> Quote:
    return Quote(symbol=symbol, bid_price=dec(info.get("b")), bid_size=dec(info.get("B")),
                 ask_price=dec(info.get("a")), ask_size=dec(info.get("A")),
                 time_ms=int(info.get("T") or info.get("E") or 0))


def mark_from_update(symbol: str, info: Mapping[str, Any]) -> Mark:
    return Mark(symbol=symbol, mark_price=dec(info.get("p")), funding_rate=dec(info.get("r")),
                next_funding_ms=int(info.get("T") or 0), time_ms=int(info.get("E") or 0))
