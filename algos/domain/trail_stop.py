"""Trailing stop: follow the mid's best extreme since arming and close when it retraces trail_pct."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from trading.domain.types import Side

HUNDRED = Decimal(100)
MAX_TRAIL_PCT = Decimal(100)


class TrailAction(StrEnum):
    HOLD = "hold"
    TRIGGER = "trigger"  # close the whole position with a reduce-only market order on `close_side`


@dataclass(frozen=True, slots=True)
class TrailDecision:
    action: TrailAction
    close_side: Side | None = None
    reason: str = ""


HOLD = TrailDecision(TrailAction.HOLD)


@dataclass(frozen=True, slots=True)
class TrailParams:
    """`position_side` BUY protects a long (tracks the high), SELL a short (tracks the low).

    `trail_pct` is in percent (1 means the stop sits 1 % below the high for a long). With an
    `activation_price` the stop is not armed until the mid reaches it (at or above for a long, at or
    below for a short); without one it arms on the first mid.
    """

    position_side: Side
    trail_pct: Decimal
    activation_price: Decimal | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.position_side, Side):
            raise ValueError(f"position side must be buy or sell, got {self.position_side!r}")
        if not self.trail_pct.is_finite() or not 0 < self.trail_pct < MAX_TRAIL_PCT:
            raise ValueError(f"trail_pct must be within (0, 100), got {self.trail_pct}")
        if self.activation_price is not None and self.activation_price <= 0:
            raise ValueError(f"activation price must be positive, got {self.activation_price}")


@dataclass(frozen=True, slots=True)
class TrailState:
    armed: bool = False
    extreme: Decimal | None = None  # high-water mark (long) or low-water mark (short) since arming
    triggered: bool = False


def trail_stop_price(params: TrailParams, extreme: Decimal) -> Decimal:
    """The mid at which the stop fires for this extreme."""
    distance = params.trail_pct / HUNDRED
    if params.position_side is Side.BUY:
        return extreme * (1 - distance)
    return extreme * (1 + distance)


def _reaches_activation(params: TrailParams, mid: Decimal) -> bool:
    if params.activation_price is None:
        return True
    if params.position_side is Side.BUY:
        return mid >= params.activation_price
    return mid <= params.activation_price


def _better(params: TrailParams, extreme: Decimal, mid: Decimal) -> Decimal:
    return max(extreme, mid) if params.position_side is Side.BUY else min(extreme, mid)


def _retraced(params: TrailParams, extreme: Decimal, mid: Decimal) -> bool:
    stop = trail_stop_price(params, extreme)
    return mid <= stop if params.position_side is Side.BUY else mid >= stop


def trail_on_mid(state: TrailState, params: TrailParams, mid: Decimal) -> tuple[TrailState, TrailDecision]:
    """Update the extreme with this mid and say whether the stop fires; it fires once."""
    if state.triggered or mid <= 0:
        return state, HOLD  # already fired, or no usable price: skip the tick
    if not state.armed:
        if not _reaches_activation(params, mid):
            return state, HOLD
        return replace(state, armed=True, extreme=mid), HOLD
    extreme = mid if state.extreme is None else _better(params, state.extreme, mid)
    if _retraced(params, extreme, mid):
        reason = f"mid {mid} retraced {params.trail_pct}% from {extreme}"
        return replace(state, extreme=extreme, triggered=True), TrailDecision(
            TrailAction.TRIGGER, close_side=params.position_side.opposite, reason=reason
        )
    return replace(state, extreme=extreme), HOLD
