"""Scalp slot state machine: buy, then sell, with at most one order in flight per symbol and side."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from trading.domain.types import Side


class ScalpPhase(StrEnum):
    TO_BUY = "to_buy"
    BUY_SUBMITTED = "buy_submitted"
    TO_SELL = "to_sell"
    SELL_SUBMITTED = "sell_submitted"


class ScalpEvent(StrEnum):
    SUBMITTED = "submitted"  # the slot sent its order
    FILLED = "filled"  # fully filled; a partial fill leaves the order in flight
    CANCELLED = "cancelled"
    REJECTED = "rejected"


# The whole machine. A submitted order leaves its state only on a venue outcome; a cancel or reject
# returns the slot to where it was, so the next order is the same side again.
TRANSITIONS: Mapping[tuple[ScalpPhase, ScalpEvent], ScalpPhase] = {
    (ScalpPhase.TO_BUY, ScalpEvent.SUBMITTED): ScalpPhase.BUY_SUBMITTED,
    (ScalpPhase.BUY_SUBMITTED, ScalpEvent.FILLED): ScalpPhase.TO_SELL,
    (ScalpPhase.BUY_SUBMITTED, ScalpEvent.CANCELLED): ScalpPhase.TO_BUY,
    (ScalpPhase.BUY_SUBMITTED, ScalpEvent.REJECTED): ScalpPhase.TO_BUY,
    (ScalpPhase.TO_SELL, ScalpEvent.SUBMITTED): ScalpPhase.SELL_SUBMITTED,
    (ScalpPhase.SELL_SUBMITTED, ScalpEvent.FILLED): ScalpPhase.TO_BUY,
    (ScalpPhase.SELL_SUBMITTED, ScalpEvent.CANCELLED): ScalpPhase.TO_SELL,
    (ScalpPhase.SELL_SUBMITTED, ScalpEvent.REJECTED): ScalpPhase.TO_SELL,
}

IN_FLIGHT_SIDE: Mapping[ScalpPhase, Side] = {
    ScalpPhase.BUY_SUBMITTED: Side.BUY,
    ScalpPhase.SELL_SUBMITTED: Side.SELL,
}


def scalp_transition(phase: ScalpPhase, event: ScalpEvent) -> ScalpPhase:
    """The next phase, or ValueError for a move the machine does not allow."""
    try:
        return TRANSITIONS[(phase, event)]
    except KeyError:
        raise ValueError(f"scalp slot cannot go from {phase.value} on {event.value}") from None


def in_flight_side(phase: ScalpPhase) -> Side | None:
    return IN_FLIGHT_SIDE.get(phase)


@dataclass(frozen=True, slots=True)
class ScalpSlot:
    symbol: str
    phase: ScalpPhase = ScalpPhase.TO_BUY


def scalp_apply(slots: Mapping[str, ScalpSlot], slot_id: str, event: ScalpEvent) -> dict[str, ScalpSlot]:
    """Apply an event to one slot of a scalper; refuse a submit that would make a second order in flight
    for the same symbol and side (another slot already has one), with ValueError."""
    if slot_id not in slots:
        raise ValueError(f"unknown scalp slot {slot_id!r}")
    slot = slots[slot_id]
    phase = scalp_transition(slot.phase, event)
    side = in_flight_side(phase)
    if event is ScalpEvent.SUBMITTED and side is not None:
        busy = [other for other_id, other in slots.items()
                if other_id != slot_id and other.symbol == slot.symbol and in_flight_side(other.phase) is side]
        if busy:
            raise ValueError(f"a {side.value} order for {slot.symbol} is already in flight")
    return {**slots, slot_id: replace(slot, phase=phase)}
