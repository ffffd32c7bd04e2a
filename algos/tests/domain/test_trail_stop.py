"""Trailing stop: arms at the activation price, follows the extreme, fires once on a retrace."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algos.domain.trail_stop import TrailAction, TrailParams, TrailState, trail_on_mid, trail_stop_price
from trading.domain.types import Side

D = Decimal


def run(params: TrailParams, mids: list[str]) -> tuple[TrailState, list[TrailAction]]:
    state, actions = TrailState(), []
    for mid in mids:
        state, decision = trail_on_mid(state, params, D(mid))
        actions.append(decision.action)
    return state, actions


def test_a_long_stop_follows_the_high_water_mark() -> None:
    state, _ = run(TrailParams(Side.BUY, D("1")), ["100", "105", "103"])
    assert state.extreme == D("105")


def test_a_long_stop_triggers_when_the_mid_retraces_trail_pct_from_the_high() -> None:
    _, actions = run(TrailParams(Side.BUY, D("1")), ["100", "110", "108.9"])
    assert actions[-1] is TrailAction.TRIGGER


def test_a_long_stop_holds_on_a_smaller_retrace() -> None:
    _, actions = run(TrailParams(Side.BUY, D("1")), ["100", "110", "108.91"])
    assert actions[-1] is TrailAction.HOLD


def test_the_trigger_closes_a_long_with_a_sell() -> None:
    state, _ = run(TrailParams(Side.BUY, D("1")), ["100"])
    _, decision = trail_on_mid(state, TrailParams(Side.BUY, D("1")), D("98"))
    assert decision.close_side is Side.SELL


def test_a_short_stop_follows_the_low_and_triggers_on_a_rise() -> None:
    state, actions = run(TrailParams(Side.SELL, D("2")), ["100", "90", "91.8"])
    assert (state.extreme, actions[-1]) == (D("90"), TrailAction.TRIGGER)


def test_the_stop_is_not_armed_before_the_activation_price() -> None:
    state, actions = run(TrailParams(Side.BUY, D("1"), activation_price=D("120")), ["100", "110", "90"])
    assert (state.armed, set(actions)) == (False, {TrailAction.HOLD})


def test_the_stop_arms_when_the_mid_reaches_the_activation_price() -> None:
    state, _ = run(TrailParams(Side.BUY, D("1"), activation_price=D("120")), ["100", "121"])
    assert (state.armed, state.extreme) == (True, D("121"))


def test_the_stop_fires_only_once() -> None:
    _, actions = run(TrailParams(Side.BUY, D("1")), ["100", "90", "80"])
    assert actions.count(TrailAction.TRIGGER) == 1


def test_the_stop_price_of_a_short_is_above_the_low() -> None:
    assert trail_stop_price(TrailParams(Side.SELL, D("5")), D("100")) == D("105")


@pytest.mark.parametrize("trail_pct", [D("0"), D("-1"), D("100")])
def test_a_trail_pct_outside_zero_to_hundred_is_refused(trail_pct: Decimal) -> None:
    with pytest.raises(ValueError, match="trail_pct"):
        TrailParams(Side.BUY, trail_pct)


@settings(max_examples=200, deadline=None)
@given(mids=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=50),
       activation=st.integers(min_value=1, max_value=10_000), side=st.sampled_from(list(Side)),
       trail_pct=st.decimals(min_value=D("0.1"), max_value=D("50"), places=1))
def test_the_stop_never_triggers_before_the_mid_reaches_the_activation_price(
    mids: list[int], activation: int, side: Side, trail_pct: Decimal
) -> None:
    params = TrailParams(side, trail_pct, activation_price=D(activation))
    state = TrailState()
    reached = False
    for mid in mids:
        reached = reached or (mid >= activation if side is Side.BUY else mid <= activation)
        state, decision = trail_on_mid(state, params, D(mid))
        if decision.action is TrailAction.TRIGGER:
            assert reached
