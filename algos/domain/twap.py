"""TWAP: a jittered lot schedule that sums exactly to the total, a price limit, and baskets of legs."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal

from core.money import ZERO, is_multiple_of
from trading.domain.instruments import InstrumentRules
from trading.domain.types import Side

JITTER_PERCENT = 30  # each lot time moves by up to ±30 % of the interval
IRREGULAR_WEIGHT_RANGE = (50, 150)  # irregular lots weigh 0.5x..1.5x an average lot before rounding


@dataclass(frozen=True, slots=True)
class Lot:
    at_ms: int
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class TwapLeg:
    """One symbol's schedule. `limit_price`: a buy skips lots while mid > limit, a sell while mid < limit."""

    symbol: str
    side: Side
    lots: tuple[Lot, ...]
    limit_price: Decimal | None = None

    @property
    def quantity(self) -> Decimal:
        return sum((lot.quantity for lot in self.lots), ZERO)


@dataclass(frozen=True, slots=True)
class TwapState:
    """Progress of one leg. `carried` is due quantity skipped by the limit, waiting for a later lot."""

    next_index: int = 0
    carried: Decimal = ZERO
    sent: Decimal = ZERO
    unexecuted: Decimal = ZERO  # left over when the horizon passed with the price beyond the limit
    finished: bool = False


@dataclass(frozen=True, slots=True)
class TwapSlice:
    """Send this quantity now (as a market or aggressive limit order: the runner decides)."""

    symbol: str
    side: Side
    quantity: Decimal


def min_lot_steps(rules: InstrumentRules, reference_price: Decimal) -> int:
    """Smallest lot, in steps, that meets both min qty and min notional at the reference price."""
    if reference_price <= 0:
        raise ValueError(f"reference price must be positive, got {reference_price}")
    by_qty = (rules.min_qty / rules.step_size).to_integral_value(rounding=ROUND_CEILING)
    by_notional = (rules.min_notional / (reference_price * rules.step_size)).to_integral_value(rounding=ROUND_CEILING)
    return max(1, int(by_qty), int(by_notional))


def twap_times(lots: int, interval_ms: int, start_ms: int, rng: random.Random) -> list[int]:
    """Lot times: the first at the start, the others on the interval grid moved by ±30 % jitter.

    ±30 % keeps neighbours at least 40 % of an interval apart, so the times stay strictly increasing.
    """
    if lots < 1 or interval_ms <= 0:
        raise ValueError(f"need at least one lot and a positive interval, got {lots} lots every {interval_ms} ms")
    spread = interval_ms * JITTER_PERCENT // 100
    return [start_ms] + [start_ms + i * interval_ms + rng.randint(-spread, spread) for i in range(1, lots)]


def twap_sizes(
    total: Decimal, lots: int, rules: InstrumentRules, reference_price: Decimal, rng: random.Random,
    irregular: bool = False,
) -> list[Decimal]:
    """Lot sizes that sum exactly to `total`, each a step multiple meeting min qty and min notional.

    When `total` cannot make `lots` valid lots, fewer (larger) lots are returned — never a lot below the
    minimum. `total` must be a step multiple and itself a valid order, else ValueError.
    """
    if lots < 1:
        raise ValueError(f"need at least one lot, got {lots}")
    if total <= 0 or not is_multiple_of(total, rules.step_size):
        raise ValueError(f"total {total} must be a positive multiple of the step size {rules.step_size}")
    total_steps = int(total / rules.step_size)
    floor_steps = min_lot_steps(rules, reference_price)
    count = min(lots, total_steps // floor_steps)
    if count == 0:
        raise ValueError(f"total {total} is below the minimum order for {rules.symbol} at {reference_price}")
    weights = [rng.randint(*IRREGULAR_WEIGHT_RANGE) for _ in range(count)] if irregular else [1] * count
    return [steps * rules.step_size for steps in _split_steps(total_steps, weights, floor_steps)]


def _split_steps(total_steps: int, weights: Sequence[int], floor_steps: int) -> list[int]:
    # every lot first gets the floor; the spare is shared by weight in whole steps, and the few steps
    # lost to flooring go one each to the first lots, so the sum is exact and the result deterministic
    spare = total_steps - floor_steps * len(weights)
    total_weight = sum(weights)
    shares = [floor_steps + spare * weight // total_weight for weight in weights]
    for i in range(total_steps - sum(shares)):
        shares[i % len(shares)] += 1
    return shares


def twap_plan(
    total: Decimal, lots: int, interval_ms: int, start_ms: int, rules: InstrumentRules,
    reference_price: Decimal, rng: random.Random, irregular: bool = False,
) -> list[Lot]:
    """The whole schedule; the last lot is always at the horizon slot even when lots were merged."""
    times = twap_times(lots, interval_ms, start_ms, rng)
    sizes = twap_sizes(total, lots, rules, reference_price, rng, irregular)
    slots = _spread_indices(len(sizes), lots)
    return [Lot(at_ms=times[i], quantity=size) for i, size in zip(slots, sizes, strict=True)]


def _spread_indices(count: int, slots: int) -> list[int]:
    # `count` lots spread over `slots` times, the last one on the last slot (the horizon)
    return [(k + 1) * slots // count - 1 for k in range(count)]


def _beyond_limit(leg: TwapLeg, mid: Decimal) -> bool:
    if leg.limit_price is None:
        return False
    return mid > leg.limit_price if leg.side is Side.BUY else mid < leg.limit_price


def twap_due(leg: TwapLeg, state: TwapState, now_ms: int, mid: Decimal | None) -> tuple[TwapState, list[TwapSlice]]:
    """Lots due by `now_ms` become one slice; beyond the limit they roll into the next lot.

    Lots missed while the runner was away are sent together. Without a mid (price unavailable) the
    tick is skipped and nothing advances. If the horizon lot is also beyond the limit, what is left is
    recorded as `unexecuted` and the leg finishes: the limit is never broken to complete the total.
    """
    if state.finished or mid is None:
        return state, []
    due = [lot for lot in leg.lots[state.next_index:] if lot.at_ms <= now_ms]
    if not due:
        return state, []
    next_index = state.next_index + len(due)
    quantity = state.carried + sum((lot.quantity for lot in due), ZERO)
    at_horizon = next_index == len(leg.lots)
    if _beyond_limit(leg, mid):
        if at_horizon:
            return replace(state, next_index=next_index, carried=ZERO, unexecuted=quantity, finished=True), []
        return replace(state, next_index=next_index, carried=quantity), []
    state = replace(state, next_index=next_index, carried=ZERO, sent=state.sent + quantity, finished=at_horizon)
    return state, [TwapSlice(leg.symbol, leg.side, quantity)]


def twap_progress(leg: TwapLeg, state: TwapState) -> Decimal:
    """Fraction of the leg sent, in [0, 1]."""
    total = leg.quantity
    return state.sent / total if total > 0 else Decimal(1)


@dataclass(frozen=True, slots=True)
class BasketLegSpec:
    symbol: str
    side: Side
    quantity: Decimal
    limit_price: Decimal | None = None


def twap_basket_plan(
    specs: Sequence[BasketLegSpec], lots: int, interval_ms: int, start_ms: int,
    rules: Mapping[str, InstrumentRules], reference_prices: Mapping[str, Decimal], rng: random.Random,
    irregular: bool = False,
) -> list[TwapLeg]:
    """Legs scheduled together: one shared (jittered) timeline, each leg sized by its own rules."""
    if not specs:
        raise ValueError("a basket needs at least one leg")
    if len({spec.symbol for spec in specs}) != len(specs):
        raise ValueError("a basket holds each symbol once")
    times = twap_times(lots, interval_ms, start_ms, rng)
    legs = []
    for spec in specs:
        sizes = twap_sizes(spec.quantity, lots, rules[spec.symbol], reference_prices[spec.symbol], rng, irregular)
        planned = tuple(Lot(times[i], size) for i, size in zip(_spread_indices(len(sizes), lots), sizes, strict=True))
        legs.append(TwapLeg(spec.symbol, spec.side, planned, spec.limit_price))
    return legs


def twap_basket_due(
    legs: Sequence[TwapLeg], states: Sequence[TwapState], now_ms: int, mids: Mapping[str, Decimal],
) -> tuple[list[TwapState], list[TwapSlice]]:
    """Advance every leg at once; a leg without a mid skips this tick."""
    new_states, slices = [], []
    for leg, state in zip(legs, states, strict=True):
        new_state, leg_slices = twap_due(leg, state, now_ms, mids.get(leg.symbol))
        new_states.append(new_state)
        slices.extend(leg_slices)
    return new_states, slices


def twap_basket_progress(legs: Sequence[TwapLeg], states: Sequence[TwapState]) -> Decimal:
    """Combined progress in [0, 1]: the mean of the legs' fractions (quantities of different symbols don't add)."""
    if not legs:
        return Decimal(1)
    fractions = [twap_progress(leg, state) for leg, state in zip(legs, states, strict=True)]
    return sum(fractions, ZERO) / len(fractions)


def twap_shift(leg: TwapLeg, from_index: int, delta_ms: int) -> TwapLeg:
    """The same leg with every lot from `from_index` on moved `delta_ms` later (a pause keeps the pacing)."""
    if delta_ms < 0:
        raise ValueError(f"a schedule only moves later, got {delta_ms} ms")
    lots = tuple(lot if i < from_index else Lot(lot.at_ms + delta_ms, lot.quantity) for i, lot in enumerate(leg.lots))
    return replace(leg, lots=lots)
