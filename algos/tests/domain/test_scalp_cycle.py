"""Scalp slot state machine: legal moves only, and never two orders in flight per symbol and side."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algos.domain.scalp_cycle import (
    ScalpEvent,
    ScalpPhase,
    ScalpSlot,
    in_flight_side,
    scalp_apply,
    scalp_transition,
)

P, E = ScalpPhase, ScalpEvent


def test_a_full_cycle_returns_to_to_buy() -> None:
    phase = P.TO_BUY
    for event in (E.SUBMITTED, E.FILLED, E.SUBMITTED, E.FILLED):
        phase = scalp_transition(phase, event)
    assert phase is P.TO_BUY


def test_a_filled_buy_leads_to_selling() -> None:
    assert scalp_transition(P.BUY_SUBMITTED, E.FILLED) is P.TO_SELL


@pytest.mark.parametrize("event", [E.CANCELLED, E.REJECTED])
def test_a_cancelled_or_rejected_sell_goes_back_to_to_sell(event: ScalpEvent) -> None:
    assert scalp_transition(P.SELL_SUBMITTED, event) is P.TO_SELL


def test_a_submitted_order_cannot_be_submitted_again() -> None:
    with pytest.raises(ValueError, match="cannot go from buy_submitted on submitted"):
        scalp_transition(P.BUY_SUBMITTED, E.SUBMITTED)


@pytest.mark.parametrize("event", [E.FILLED, E.CANCELLED, E.REJECTED])
def test_an_idle_slot_refuses_order_outcomes(event: ScalpEvent) -> None:
    with pytest.raises(ValueError):
        scalp_transition(P.TO_BUY, event)


def test_a_second_slot_cannot_submit_a_buy_while_one_is_in_flight_for_the_symbol() -> None:
    slots = {"a": ScalpSlot("BTCUSDT", P.BUY_SUBMITTED), "b": ScalpSlot("BTCUSDT")}
    with pytest.raises(ValueError, match="already in flight"):
        scalp_apply(slots, "b", E.SUBMITTED)


def test_slots_of_different_symbols_may_buy_at_once() -> None:
    slots = {"a": ScalpSlot("BTCUSDT", P.BUY_SUBMITTED), "b": ScalpSlot("ETHUSDT")}
    assert scalp_apply(slots, "b", E.SUBMITTED)["b"].phase is P.BUY_SUBMITTED


def test_a_buy_and_a_sell_may_be_in_flight_for_one_symbol() -> None:
    slots = {"a": ScalpSlot("BTCUSDT", P.BUY_SUBMITTED), "b": ScalpSlot("BTCUSDT", P.TO_SELL)}
    assert scalp_apply(slots, "b", E.SUBMITTED)["b"].phase is P.SELL_SUBMITTED


def test_a_refused_event_leaves_the_slots_unchanged() -> None:
    slots = {"a": ScalpSlot("BTCUSDT", P.BUY_SUBMITTED), "b": ScalpSlot("BTCUSDT")}
    with pytest.raises(ValueError):
        scalp_apply(slots, "b", E.SUBMITTED)
    assert slots["b"].phase is P.TO_BUY


def test_an_unknown_slot_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scalp slot"):
        scalp_apply({}, "x", E.SUBMITTED)


@settings(max_examples=200, deadline=None)
@given(events=st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(list(ScalpEvent))),
                       max_size=80))
def test_never_two_orders_in_flight_per_symbol_and_side(events: list[tuple[str, ScalpEvent]]) -> None:
    slots = {"a": ScalpSlot("BTCUSDT"), "b": ScalpSlot("BTCUSDT"), "c": ScalpSlot("BTCUSDT"),
             "d": ScalpSlot("ETHUSDT")}
    for slot_id, event in events:
        try:
            slots = scalp_apply(slots, slot_id, event)
        except ValueError:
            continue
        in_flight = [(s.symbol, in_flight_side(s.phase)) for s in slots.values() if in_flight_side(s.phase)]
        assert len(in_flight) == len(set(in_flight))
