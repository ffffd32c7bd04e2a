"""Chase: a limit order that stalks the L1 touch, reprices under a throttle and cancels on drift."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from core.frozen import quick_init
from core.money import ZERO, Rounding, meets_min_notional, round_down_to_step, round_to_tick
from trading.domain.instruments import InstrumentRules
from trading.domain.types import Side

MAX_OFFSET_TICKS = 1000
DEFAULT_REPRICE_THROTTLE_MS = 500
HUNDRED = Decimal(100)
TWO = Decimal(2)


class StalkMode(StrEnum):
    """How the order follows the touch after it is placed.

    NONE: static, never repriced. MAINTAIN: follows the touch both ways. TRAIL: follows the touch only
    towards a better price for the trader (a buy follows the bid down, never up; a sell follows the ask
    up, never down), so the order never becomes more aggressive than it already is.
    """

    NONE = "none"
    MAINTAIN = "maintain"
    TRAIL = "trail"


class ChaseAction(StrEnum):
    PLACE = "place"  # first order at `price` for `quantity`
    REPRICE = "reprice"  # amend/replace the working order to `price` for `quantity`
    HOLD = "hold"  # nothing to send now
    CANCEL = "cancel"  # cancel the working order and stop, see `reason`
    DONE = "done"  # filled (the remainder is dust): cancel any working remainder and stop


@quick_init
@dataclass(frozen=True, slots=True)
class ChaseDecision:
    action: ChaseAction
    price: Decimal | None = None
    quantity: Decimal | None = None
    reason: str = ""


HOLD = ChaseDecision(ChaseAction.HOLD)


@quick_init
@dataclass(frozen=True, slots=True)
class ChaseParams:
    """What to chase. The offset is in ticks away from the touch, on the passive side.

    `offset_ticks` = 2 puts a buy two ticks below the best bid and a sell two ticks above the best ask;
    0 joins the touch. Negative offsets (crossing the spread) are refused: a chase is a maker order.
    `max_distance_pct` is in percent of the initial mid (2 means 2 %).
    """

    side: Side
    quantity: Decimal
    rules: InstrumentRules
    offset_ticks: int = 0
    stalk_mode: StalkMode = StalkMode.MAINTAIN
    reprice_throttle_ms: int = DEFAULT_REPRICE_THROTTLE_MS
    max_distance_pct: Decimal = Decimal(2)

    def __post_init__(self) -> None:
        if not isinstance(self.side, Side):
            raise ValueError(f"side must be buy or sell, got {self.side!r}")
        if not self.quantity.is_finite() or self.quantity <= 0:
            raise ValueError(f"chase quantity must be positive, got {self.quantity}")
        if not 0 <= self.offset_ticks <= MAX_OFFSET_TICKS:
            raise ValueError(f"offset_ticks must be within 0..{MAX_OFFSET_TICKS}, got {self.offset_ticks}")
        if self.stalk_mode not in tuple(StalkMode):
            raise ValueError(f"unknown stalk mode {self.stalk_mode!r}; use one of none, maintain, trail")
        if self.reprice_throttle_ms < 0:
            raise ValueError(f"reprice_throttle_ms must not be negative, got {self.reprice_throttle_ms}")
        if not self.max_distance_pct.is_finite() or self.max_distance_pct <= 0:
            raise ValueError(f"max_distance_pct must be positive, got {self.max_distance_pct}")
        # StalkMode("trail") and "trail" compare equal; store the enum so the match below is total
        object.__setattr__(self, "stalk_mode", StalkMode(self.stalk_mode))


@quick_init
@dataclass(frozen=True, slots=True)
class ChaseState:
    """Where the chase stands. `working_price` is the live order's price (None before the first place)."""

    initial_mid: Decimal | None = None
    working_price: Decimal | None = None
    target_price: Decimal | None = None
    last_reprice_ms: int | None = None
    filled: Decimal = ZERO
    finished: bool = False


def chase_remaining(state: ChaseState, params: ChaseParams) -> Decimal:
    """Quantity still to trade, rounded down to the step (partial fills carried over)."""
    left = params.quantity - state.filled
    return round_down_to_step(left, params.rules.step_size) if left > 0 else ZERO


def chase_is_done(state: ChaseState, params: ChaseParams, price: Decimal) -> bool:
    """True when the remainder is too small to be a valid order (below min qty or min notional)."""
    remaining = chase_remaining(state, params)
    rules = params.rules
    return remaining <= 0 or remaining < rules.min_qty or not meets_min_notional(price, remaining, rules.min_notional)


def touch_price(params: ChaseParams, bid: Decimal, ask: Decimal) -> Decimal:
    """The price the order wants at this quote, on the tick grid, rounded to the passive side."""
    tick = params.rules.tick_size
    if params.side is Side.BUY:
        return round_to_tick(bid - params.offset_ticks * tick, tick, Rounding.DOWN)
    return round_to_tick(ask + params.offset_ticks * tick, tick, Rounding.UP)


def chase_on_fill(state: ChaseState, params: ChaseParams, quantity: Decimal) -> ChaseState:
    """Carry a (partial) fill over; an overfill is a broken invariant and raises."""
    if quantity <= 0:
        raise ValueError(f"fill quantity must be positive, got {quantity}")
    filled = state.filled + quantity
    if filled > params.quantity:
        raise ValueError(f"fills {filled} exceed the chase quantity {params.quantity}")
    return ChaseState(initial_mid=state.initial_mid, working_price=state.working_price, target_price=state.target_price,
                      last_reprice_ms=state.last_reprice_ms, filled=filled, finished=state.finished)


def chase_on_quote(
    state: ChaseState, params: ChaseParams, bid: Decimal, ask: Decimal, now_ms: int, *, reprice_allowed: bool = True
) -> tuple[ChaseState, ChaseDecision]:
    """Decide what to do at this L1 quote; call on every tick. `reprice_allowed` False (the desk's reprice
    budget is empty) holds a reprice like the throttle does: the target is kept, the latest price wins."""
    if state.finished:
        return state, HOLD
    if bid <= 0 or ask <= 0 or bid > ask:
        return state, HOLD  # no usable quote (empty or crossed book): skip the tick
    mid = (bid + ask) / TWO
    if state.initial_mid is None:
        return _place(state, params, mid, touch_price(params, bid, ask), now_ms)
    drift = _drift_reason(state.initial_mid, mid, params.max_distance_pct)
    if drift:
        return replace(state, finished=True), ChaseDecision(ChaseAction.CANCEL, reason=drift)
    target = _next_target(state, params, touch_price(params, bid, ask))
    if chase_is_done(state, params, target):
        return replace(state, finished=True, target_price=target), ChaseDecision(ChaseAction.DONE)
    # The constructor, not replace(): this runs on every quote of every chase.
    state = ChaseState(initial_mid=state.initial_mid, working_price=state.working_price, target_price=target,
                       last_reprice_ms=state.last_reprice_ms, filled=state.filled, finished=state.finished)
    if target == state.working_price or not reprice_allowed or not _throttle_allows(state, params, now_ms):
        return state, HOLD  # a burst in between only moves the target: the latest price wins
    remaining = chase_remaining(state, params)
    state = ChaseState(initial_mid=state.initial_mid, working_price=target, target_price=target,
                       last_reprice_ms=now_ms, filled=state.filled, finished=state.finished)
    return state, ChaseDecision(ChaseAction.REPRICE, price=target, quantity=remaining)


def _place(
    state: ChaseState, params: ChaseParams, mid: Decimal, price: Decimal, now_ms: int
) -> tuple[ChaseState, ChaseDecision]:
    if price <= 0:
        return state, HOLD  # offset pushed the price off the book: wait for a quote that makes sense
    if chase_is_done(state, params, price):
        return replace(state, finished=True), ChaseDecision(ChaseAction.DONE, reason="quantity below the minimum")
    placed = ChaseState(initial_mid=mid, working_price=price, target_price=price, last_reprice_ms=now_ms,
                        filled=state.filled, finished=state.finished)
    return placed, ChaseDecision(ChaseAction.PLACE, price=price, quantity=chase_remaining(state, params))


def _next_target(state: ChaseState, params: ChaseParams, touch: Decimal) -> Decimal:
    current = state.target_price if state.target_price is not None else touch
    if params.stalk_mode is StalkMode.NONE or touch <= 0:
        return current
    if params.stalk_mode is StalkMode.MAINTAIN:
        return touch
    return min(current, touch) if params.side is Side.BUY else max(current, touch)


def _throttle_allows(state: ChaseState, params: ChaseParams, now_ms: int) -> bool:
    last = state.last_reprice_ms
    return last is None or now_ms - last >= params.reprice_throttle_ms


def _drift_reason(initial_mid: Decimal, mid: Decimal, max_distance_pct: Decimal) -> str:
    drift_pct = abs(mid - initial_mid) / initial_mid * HUNDRED
    if drift_pct > max_distance_pct:
        return f"mid {mid} drifted {drift_pct:.4g}% from the initial mid {initial_mid} (max {max_distance_pct}%)"
    return ""


def chase_wake_at(state: ChaseState, params: ChaseParams) -> int | None:
    """When a held reprice may go (the throttle's end), or None when nothing is held. Without a wake-up a held
    target would wait for the next quote, which in a quiet market may be long after the throttle ended."""
    if state.finished or state.working_price is None or state.target_price in (None, state.working_price):
        return None
    return (state.last_reprice_ms or 0) + params.reprice_throttle_ms
