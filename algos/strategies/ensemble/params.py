"""The ensemble's parameters from a mapping of strings or values (admin form, --param), with clear errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from algos.strategies.ensemble.exits import ExitParams
from algos.strategies.ensemble.limits import LimitParams


class ParameterError(ValueError):
    """A parameter the user must change; nothing was built."""


@dataclass(frozen=True)
class EnsembleParams:
    primary_symbol: str = "BTCUSDT"  # traded first; any other symbol waits for it (asset priority)
    other_symbol_confidence: Decimal = Decimal("0.88")  # another symbol enters while the primary trades only above
    min_confidence: Decimal = Decimal("0.65")
    base_fraction: Decimal = Decimal("0.02")
    leverage: Decimal = Decimal(5)
    exits: ExitParams = field(default_factory=ExitParams)
    limits: LimitParams = field(default_factory=LimitParams)
    learning_enabled: bool = False
    learning_every: int = 50
    weight_rate: float = 0.05


_DECIMALS = ("other_symbol_confidence", "min_confidence", "base_fraction", "leverage")
_EXIT_DECIMALS = ("stop_atr_multiple", "stop_fixed_pct", "trail_activation_pct", "trail_distance_pct")
_LIMIT_INTS = ("max_open_positions", "max_trades_per_hour")
_LIMIT_DECIMALS = ("max_daily_loss_pct", "max_drawdown_pct")
KNOWN = frozenset(_DECIMALS + _EXIT_DECIMALS + _LIMIT_INTS + _LIMIT_DECIMALS + (
    "primary_symbol", "stop_mode", "learning_enabled", "learning_every", "weight_rate", "seed"))


def _decimal(name: str, value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ParameterError(f"{name} must be a number, got {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise ParameterError(f"{name} must be a positive number, got {value!r}")
    return number


def _int(name: str, value: Any) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ParameterError(f"{name} must be a whole number, got {value!r}") from None
    if number <= 0:
        raise ParameterError(f"{name} must be at least 1, got {value!r}")
    return number


def _bool(name: str, value: Any) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ParameterError(f"{name} must be true or false, got {value!r}")


def params_from(values: Mapping[str, Any]) -> EnsembleParams:
    unknown = sorted(set(values) - KNOWN)
    if unknown:
        raise ParameterError(f"unknown ensemble parameters {unknown}; known: {sorted(KNOWN)}")
    top: dict[str, Any] = {name: _decimal(name, values[name]) for name in _DECIMALS if name in values}
    for name in ("min_confidence", "other_symbol_confidence"):
        if name in top and top[name] >= 1:
            raise ParameterError(f"{name} is a fraction below 1 (0.65 for 65 %), got {values[name]!r}")
    if "primary_symbol" in values:
        top["primary_symbol"] = str(values["primary_symbol"]).upper()
    if "learning_enabled" in values:
        top["learning_enabled"] = _bool("learning_enabled", values["learning_enabled"])
    if "learning_every" in values:
        top["learning_every"] = _int("learning_every", values["learning_every"])
    if "weight_rate" in values:
        top["weight_rate"] = float(_decimal("weight_rate", values["weight_rate"]))
    exit_values: dict[str, Any] = {name: _decimal(name, values[name]) for name in _EXIT_DECIMALS if name in values}
    if "stop_mode" in values:
        exit_values["stop_mode"] = str(values["stop_mode"]).lower()
    limit_values: dict[str, Any] = {name: _int(name, values[name]) for name in _LIMIT_INTS if name in values}
    limit_values.update({name: _decimal(name, values[name]) for name in _LIMIT_DECIMALS if name in values})
    try:
        return EnsembleParams(**top, exits=ExitParams(**exit_values), limits=LimitParams(**limit_values))
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
