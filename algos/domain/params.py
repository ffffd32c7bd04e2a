"""Algo parameters from plain JSON (commands, API, admin) to validated domain values, with readable errors."""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from algos.domain.chase import ChaseParams, StalkMode
from algos.domain.layers import layer_offsets, layer_sizes
from algos.domain.trail_stop import TrailParams
from algos.domain.twap import TwapLeg, twap_plan
from trading.domain.instruments import InstrumentRules
from trading.domain.types import Side

KINDS = ("chase", "scalper", "twap", "basket", "trail_stop", "strategy")


class ParamError(ValueError):
    """A parameter the operator must change; the message says which and why."""


def decimal_field(params: Mapping[str, Any], name: str, *, default: str | None = None) -> Decimal:
    raw = params.get(name, default)
    if raw is None or raw == "":
        raise ParamError(f"{name} is required")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ParamError(f"{name} must be a number, got {raw!r}") from None
    if not value.is_finite():
        raise ParamError(f"{name} must be a finite number, got {raw!r}")
    return value


def int_field(params: Mapping[str, Any], name: str, *, default: int, low: int, high: int) -> int:
    raw = params.get(name, default)
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).lstrip("-").isdigit():
        raise ParamError(f"{name} must be a whole number, got {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise ParamError(f"{name} must be within {low}..{high}, got {value}")
    return value


def side_field(params: Mapping[str, Any]) -> Side:
    try:
        return Side(str(params.get("side", "")).lower())
    except ValueError:
        raise ParamError(f"side must be buy or sell, got {params.get('side')!r}") from None


def check_quantity(quantity: Decimal, rules: InstrumentRules, reference_price: Decimal | None) -> None:
    if quantity <= 0:
        raise ParamError(f"quantity must be positive, got {quantity}")
    if quantity % rules.step_size != 0:
        raise ParamError(f"quantity {quantity} is not a multiple of the step size {rules.step_size}")
    if quantity < rules.min_qty:
        raise ParamError(f"quantity {quantity} is below the minimum {rules.min_qty} for {rules.symbol}")
    if reference_price is not None and quantity * reference_price < rules.min_notional:
        raise ParamError(f"quantity {quantity} is worth {quantity * reference_price:.2f} {rules.quote_asset}, "
                         f"below the minimum order value {rules.min_notional}")


def chase_params(params: Mapping[str, Any], rules: InstrumentRules, reference_price: Decimal | None) -> ChaseParams:
    quantity = decimal_field(params, "quantity")
    check_quantity(quantity, rules, reference_price)
    mode = str(params.get("stalk_mode", "maintain"))
    if mode not in tuple(StalkMode):
        raise ParamError(f"stalk_mode must be none, maintain or trail, got {mode!r}")
    distance = decimal_field(params, "max_distance_pct", default="2")
    if not 0 < distance <= 50:
        raise ParamError(f"max_distance_pct must be within (0, 50], got {distance}")
    try:
        return ChaseParams(side=side_field(params), quantity=quantity, rules=rules,
                           offset_ticks=int_field(params, "offset_ticks", default=0, low=0, high=1000),
                           stalk_mode=StalkMode(mode), max_distance_pct=distance,
                           reprice_throttle_ms=int_field(params, "reprice_throttle_ms", default=500, low=100,
                                                         high=60_000))
    except ValueError as exc:
        raise ParamError(str(exc)) from None


@dataclass(frozen=True)
class TwapSpec:
    legs: tuple[TwapLeg, ...]


def twap_params_basic(params: Mapping[str, Any], rules: InstrumentRules) -> None:
    """What can be checked without a price: quantity on the grid, lot count, interval, side, limit."""
    check_quantity(decimal_field(params, "quantity"), rules, None)
    int_field(params, "lots", default=10, low=1, high=1000)
    int_field(params, "interval_s", default=60, low=1, high=86_400)
    side_field(params)
    if params.get("limit_price") not in (None, ""):
        decimal_field(params, "limit_price")


def twap_spec(params: Mapping[str, Any], rules: InstrumentRules, reference_price: Decimal, start_ms: int,
              seed: int) -> TwapSpec:
    quantity = decimal_field(params, "quantity")
    check_quantity(quantity, rules, reference_price)
    lots = int_field(params, "lots", default=10, low=1, high=1000)
    interval_s = int_field(params, "interval_s", default=60, low=1, high=86_400)
    limit = decimal_field(params, "limit_price") if params.get("limit_price") not in (None, "") else None
    jitter = random.Random(seed)  # noqa: S311 - a seeded schedule, not security
    try:
        plan = twap_plan(quantity, lots, interval_s * 1000, start_ms, rules, reference_price, jitter,
                         irregular=bool(params.get("irregular", False)))
    except ValueError as exc:
        raise ParamError(str(exc)) from None
    return TwapSpec((TwapLeg(rules.symbol, side_field(params), tuple(plan), limit),))


def trail_params(params: Mapping[str, Any], position_quantity: Decimal) -> TrailParams:
    if position_quantity == 0:
        raise ParamError("a trail stop protects a position, and this sub-account has none in this symbol")
    activation = params.get("activation_price")
    try:
        return TrailParams(position_side=Side.BUY if position_quantity > 0 else Side.SELL,
                           trail_pct=decimal_field(params, "trail_pct"),
                           activation_price=Decimal(str(activation)) if activation not in (None, "") else None)
    except (ValueError, InvalidOperation) as exc:
        raise ParamError(str(exc)) from None


@dataclass(frozen=True)
class ScalperSpec:
    """What a ScalperRunner needs, validated; sizes and offsets per layer, innermost first."""

    sides: tuple[Side, ...]
    sizes: tuple[Decimal, ...]
    offsets_bps: tuple[Decimal, ...]
    base_delay_ms: int
    max_fills_per_minute: int
    max_loss_bps: Decimal
    max_position: Decimal
    reprice_throttle_ms: int
    max_distance_pct: Decimal


SCALPER_SIDES = {"both": (Side.BUY, Side.SELL), "long": (Side.BUY,), "short": (Side.SELL,)}


def _bounded(params: Mapping[str, Any], name: str, default: str, low: Decimal, high: Decimal,
             *, low_open: bool = True) -> Decimal:
    value = decimal_field(params, name, default=default)
    if (value <= low if low_open else value < low) or value > high:
        bracket = "(" if low_open else "["
        raise ParamError(f"{name} must be within {bracket}{low}, {high}], got {value}")
    return value


def scalper_spec(params: Mapping[str, Any], rules: InstrumentRules, reference_price: Decimal | None) -> ScalperSpec:
    """`quantity` is the total per side, split over the layers by `skew`; offsets in basis points of the mid.

    Without a reference price the sizes cannot be checked against the minimum order value; the engine
    calls this again with its own price before anything is placed.
    """
    quantity = decimal_field(params, "quantity")
    check_quantity(quantity, rules, reference_price)
    sides = SCALPER_SIDES.get(str(params.get("sides", "both")).lower())
    if sides is None:
        raise ParamError(f"sides must be both, long or short, got {params.get('sides')!r}")
    layer_count = int_field(params, "layer_count", default=3, low=1, high=10)
    base_offset = _bounded(params, "base_offset", "5", Decimal(0), Decimal(1000))
    max_spread = _bounded(params, "max_spread", "50", Decimal(0), Decimal(2000))
    if max_spread < base_offset:
        raise ParamError(f"max_spread ({max_spread} bps) must be at least base_offset ({base_offset} bps)")
    skew = _bounded(params, "skew", "0", Decimal(-1), Decimal(1), low_open=False)
    max_position = decimal_field(params, "max_position", default="0")
    if max_position < 0:
        raise ParamError(f"max_position must not be negative, got {max_position}")
    offsets = layer_offsets(base_offset, layer_count, max_spread)
    if reference_price is None:
        sizes = [quantity]
    else:
        try:
            sizes = layer_sizes(quantity, layer_count, skew, rules, reference_price)
        except ValueError as exc:
            raise ParamError(str(exc)) from None
    return ScalperSpec(
        sides=sides, sizes=tuple(sizes), offsets_bps=tuple(offsets[:len(sizes)]),
        base_delay_ms=int_field(params, "base_delay_ms", default=1000, low=0, high=600_000),
        max_fills_per_minute=int_field(params, "max_fills_per_minute", default=30, low=1, high=600),
        max_loss_bps=_bounded(params, "max_loss_bps", "50", Decimal(0), Decimal(10_000)),
        max_position=max_position,
        reprice_throttle_ms=int_field(params, "reprice_throttle_ms", default=500, low=100, high=60_000),
        max_distance_pct=_bounded(params, "max_distance_pct", "1", Decimal(0), Decimal(50)))


@dataclass(frozen=True)
class StrategySpec:
    """A strategy instance's parameters: which strategy, on which symbols, with what, inside which limits."""

    name: str
    symbols: tuple[str, ...]
    parameters: dict[str, Any]
    equity: Decimal | None  # the balance its metrics start from; None: the sub-account's, at start
    budget_ms: int
    max_signals_per_callback: int
    max_signals_per_minute: int


def strategy_params(params: Mapping[str, Any], known_symbols: Collection[str]) -> StrategySpec:
    """{"strategy": NAME, "symbols": ["BTCUSDT", ...] or "BTCUSDT,ETHUSDT", "parameters": {...}, "equity",
    "budget_ms", "max_signals_per_callback", "max_signals_per_minute"}; whether NAME exists is the registry's."""
    name = str(params.get("strategy", "")).strip()
    if not name:
        raise ParamError("strategy is required: the registered name of the strategy to run")
    raw = params.get("symbols", params.get("symbol", ""))
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise ParamError(f"symbols must be a list of symbols or a comma-separated string, got {raw!r}")
    symbols = tuple(dict.fromkeys(item.strip().upper() for item in items if item.strip()))
    if not symbols:
        raise ParamError("symbols is required: at least one symbol to trade")
    unknown = [symbol for symbol in symbols if symbol not in known_symbols]
    if unknown:
        raise ParamError(f"unknown symbol(s) {', '.join(unknown)}")
    parameters = params.get("parameters", {})
    if isinstance(parameters, str):  # from a command line: a JSON object
        try:
            parameters = json.loads(parameters or "{}")
        except ValueError:
            raise ParamError(f"parameters must be a JSON object, got {parameters!r}") from None
    if not isinstance(parameters, dict):
        raise ParamError(f"parameters must be an object of the strategy's parameters, got {parameters!r}")
    equity = None
    if params.get("equity") not in (None, ""):
        equity = decimal_field(params, "equity")
        if equity < 0:
            raise ParamError(f"equity must not be negative, got {equity}")
    return StrategySpec(
        name=name, symbols=symbols, parameters=dict(parameters), equity=equity,
        budget_ms=int_field(params, "budget_ms", default=50, low=1, high=10_000),
        max_signals_per_callback=int_field(params, "max_signals_per_callback", default=20, low=1, high=10_000),
        max_signals_per_minute=int_field(params, "max_signals_per_minute", default=600, low=1, high=100_000))


MAX_BASKET_LEGS = 20


def basket_legs(params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """`legs`: a list of {symbol, side, quantity, limit_price?}, each symbol once."""
    legs = params.get("legs")
    if not isinstance(legs, list) or not legs:
        raise ParamError("a basket needs `legs`: a list of {symbol, side, quantity, limit_price?}")
    if len(legs) > MAX_BASKET_LEGS:
        raise ParamError(f"a basket holds at most {MAX_BASKET_LEGS} legs, got {len(legs)}")
    if not all(isinstance(leg, Mapping) for leg in legs):
        raise ParamError("each basket leg is an object with symbol, side and quantity")
    symbols = [str(leg.get("symbol", "")).upper() for leg in legs]
    if len(set(symbols)) != len(symbols):
        raise ParamError(f"a basket holds each symbol once, got {', '.join(symbols)}")
    return [{**leg, "symbol": symbol} for leg, symbol in zip(legs, symbols, strict=True)]


def twap_basket_spec(params: Mapping[str, Any], rules: Mapping[str, InstrumentRules],
                     prices: Mapping[str, Decimal | None], start_ms: int, seed: int) -> TwapSpec:
    """Every leg on one jittered timeline, sized by its own instrument; one combined progress."""
    from algos.domain.twap import BasketLegSpec, twap_basket_plan

    lots = int_field(params, "lots", default=10, low=1, high=1000)
    interval_s = int_field(params, "interval_s", default=60, low=1, high=86_400)
    specs, references = [], {}
    for leg in basket_legs(params):
        symbol = leg["symbol"]
        if symbol not in rules:
            raise ParamError(f"unknown symbol {symbol!r} in the basket")
        price = prices.get(symbol)
        if price is None:
            raise ParamError(f"no fresh price for {symbol}: a basket needs one per leg to size its lots")
        quantity = decimal_field(leg, "quantity")
        try:
            check_quantity(quantity, rules[symbol], price)
        except ParamError as exc:
            raise ParamError(f"{symbol}: {exc}") from None
        limit = decimal_field(leg, "limit_price") if leg.get("limit_price") not in (None, "") else None
        specs.append(BasketLegSpec(symbol, side_field(leg), quantity, limit))
        references[symbol] = price
    try:
        legs = twap_basket_plan(specs, lots, interval_s * 1000, start_ms, rules, references,
                                random.Random(seed), irregular=bool(params.get("irregular", False)))  # noqa: S311
    except ValueError as exc:
        raise ParamError(str(exc)) from None
    return TwapSpec(tuple(legs))


def twap_basket_basic(params: Mapping[str, Any], rules: Mapping[str, InstrumentRules]) -> None:
    """What can be checked without prices."""
    int_field(params, "lots", default=10, low=1, high=1000)
    int_field(params, "interval_s", default=60, low=1, high=86_400)
    for leg in basket_legs(params):
        if leg["symbol"] not in rules:
            raise ParamError(f"unknown symbol {leg['symbol']!r} in the basket")
        side_field(leg)
        try:
            check_quantity(decimal_field(leg, "quantity"), rules[leg["symbol"]], None)
        except ParamError as exc:
            raise ParamError(f"{leg['symbol']}: {exc}") from None
