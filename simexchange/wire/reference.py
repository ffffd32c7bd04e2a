"""Reference replies: errors, server time, exchangeInfo, leverage brackets and leverage changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from simexchange.core.brackets import Bracket
from simexchange.core.config import RateLimitConfig
from simexchange.core.engine import LeverageChange
from simexchange.core.errors import ExchangeError
from simexchange.core.symbols import SymbolSpec
from simexchange.wire.format import Json, number, plain


def error(err: ExchangeError) -> Json:
    """The error body: {"code": -2019, "msg": "Margin is insufficient."}."""
    return {"code": err.code, "msg": err.msg}


def server_time(now_ms: int) -> Json:
    """GET /fapi/v1/time."""
    return {"serverTime": now_ms}


def _filters(spec: SymbolSpec) -> list[Json]:
    return [
        {
            "minPrice": plain(spec.min_price),
            "maxPrice": plain(spec.max_price),
            "filterType": "PRICE_FILTER",
            "tickSize": plain(spec.tick_size),
        },
        {
            "stepSize": plain(spec.step_size),
            "filterType": "LOT_SIZE",
            "maxQty": plain(spec.max_qty),
            "minQty": plain(spec.min_qty),
        },
        {
            "stepSize": plain(spec.market_step_size),
            "filterType": "MARKET_LOT_SIZE",
            "maxQty": plain(spec.market_max_qty),
            "minQty": plain(spec.market_min_qty),
        },
        {"limit": spec.max_num_orders, "filterType": "MAX_NUM_ORDERS"},
        {"limit": spec.max_num_algo_orders, "filterType": "MAX_NUM_ALGO_ORDERS"},
        {"notional": plain(spec.min_notional), "filterType": "MIN_NOTIONAL"},
        {
            "multiplierDown": plain(spec.multiplier_down),
            "multiplierUp": plain(spec.multiplier_up),
            "multiplierDecimal": str(spec.multiplier_decimal),
            "filterType": "PERCENT_PRICE",
        },
    ]


def exchange_symbol(spec: SymbolSpec) -> Json:
    """One entry of exchangeInfo "symbols"."""
    return {
        "symbol": spec.symbol,
        "pair": spec.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": spec.delivery_date_ms,
        "onboardDate": spec.onboard_date_ms,
        "status": "TRADING",
        "maintMarginPercent": plain(spec.maint_margin_percent),
        "requiredMarginPercent": plain(spec.required_margin_percent),
        "baseAsset": spec.base_asset,
        "quoteAsset": spec.quote_asset,
        "marginAsset": spec.margin_asset,
        "pricePrecision": spec.price_precision,
        "quantityPrecision": spec.quantity_precision,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": plain(spec.trigger_protect),
        "liquidationFee": plain(spec.liquidation_fee),
        "marketTakeBound": plain(spec.market_take_bound),
        "filters": _filters(spec),
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def exchange_info(specs: Sequence[SymbolSpec], rate_limits: RateLimitConfig, now_ms: int) -> Json:
    """GET /fapi/v1/exchangeInfo."""
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            _rate_limit("REQUEST_WEIGHT", "MINUTE", 1, rate_limits.request_weight_per_minute),
            _rate_limit("ORDERS", "MINUTE", 1, rate_limits.orders_per_minute),
            _rate_limit("ORDERS", "SECOND", 10, rate_limits.orders_per_10s),
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [exchange_symbol(spec) for spec in specs],
    }


def _rate_limit(kind: str, interval: str, num: int, limit: int) -> Json:
    return {"rateLimitType": kind, "interval": interval, "intervalNum": num, "limit": limit}


def leverage_bracket(symbol: str, brackets: Sequence[Bracket]) -> Json:
    """One symbol's entry of GET /fapi/v1/leverageBracket (a list of these without `symbol`, one with it)."""
    return {
        "symbol": symbol,
        "brackets": [
            {
                "bracket": tier.bracket,
                "initialLeverage": tier.initial_leverage,
                "notionalCap": number(tier.notional_cap),
                "notionalFloor": number(tier.notional_floor),
                "maintMarginRatio": number(tier.maint_margin_ratio),
                "cum": float(tier.cum),
            }
            for tier in brackets
        ],
    }


def leverage_brackets(tables: Mapping[str, Sequence[Bracket]]) -> list[Json]:
    """GET /fapi/v1/leverageBracket without `symbol`: every table."""
    return [leverage_bracket(symbol, brackets) for symbol, brackets in tables.items()]


def leverage_change(change: LeverageChange) -> Json:
    """POST /fapi/v1/leverage."""
    return {"leverage": change.leverage, "maxNotionalValue": plain(change.max_notional), "symbol": change.symbol}
