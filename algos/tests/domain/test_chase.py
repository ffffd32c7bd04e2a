"""Chase decisions: place at the touch, stalk by mode, throttle reprices, cancel on drift, carry fills."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algos.domain.chase import (
    ChaseAction,
    ChaseParams,
    ChaseState,
    StalkMode,
    chase_on_fill,
    chase_on_quote,
    chase_remaining,
)
from trading.domain.instruments import InstrumentRules
from trading.domain.types import Side

D = Decimal

BTC = InstrumentRules(
    symbol="BTCUSDT", tick_size=D("0.10"), step_size=D("0.001"), min_qty=D("0.002"), max_qty=D("1000"),
    min_notional=D("100"),
)


def params(side: Side = Side.BUY, mode: StalkMode = StalkMode.MAINTAIN, **kwargs: object) -> ChaseParams:
    values: dict[str, object] = {"quantity": D("1"), "offset_ticks": 0, "max_distance_pct": D("2"), **kwargs}
    return ChaseParams(side=side, rules=BTC, stalk_mode=mode, **values)  # type: ignore[arg-type]


def placed(p: ChaseParams, bid: str = "60000.0", ask: str = "60000.1", now: int = 0) -> ChaseState:
    state, decision = chase_on_quote(ChaseState(), p, D(bid), D(ask), now)
    assert decision.action is ChaseAction.PLACE
    return state


def test_a_buy_is_placed_at_the_best_bid_minus_the_offset_in_ticks() -> None:
    _, decision = chase_on_quote(ChaseState(), params(offset_ticks=3), D("60000.0"), D("60000.1"), 0)
    assert (decision.action, decision.price, decision.quantity) == (ChaseAction.PLACE, D("59999.7"), D("1.000"))


def test_a_sell_is_placed_at_the_best_ask_plus_the_offset_in_ticks() -> None:
    _, decision = chase_on_quote(ChaseState(), params(Side.SELL, offset_ticks=2), D("60000.0"), D("60000.1"), 0)
    assert decision.price == D("60000.3")


def test_maintain_mode_follows_the_bid_up_after_the_throttle() -> None:
    p = params()
    _, decision = chase_on_quote(placed(p), p, D("60001.0"), D("60001.1"), 500)
    assert (decision.action, decision.price) == (ChaseAction.REPRICE, D("60001.0"))


def test_maintain_mode_follows_the_bid_down() -> None:
    p = params()
    _, decision = chase_on_quote(placed(p), p, D("59990.0"), D("59990.1"), 600)
    assert decision.price == D("59990.0")


def test_static_mode_never_reprices() -> None:
    p = params(mode=StalkMode.NONE)
    _, decision = chase_on_quote(placed(p), p, D("60010.0"), D("60010.1"), 10_000)
    assert decision.action is ChaseAction.HOLD


def test_trail_mode_lets_a_buy_follow_the_bid_down() -> None:
    p = params(mode=StalkMode.TRAIL)
    _, decision = chase_on_quote(placed(p), p, D("59995.0"), D("59995.1"), 600)
    assert decision.price == D("59995.0")


def test_trail_mode_never_lets_a_buy_follow_the_bid_up() -> None:
    p = params(mode=StalkMode.TRAIL)
    _, decision = chase_on_quote(placed(p), p, D("60005.0"), D("60005.1"), 600)
    assert decision.action is ChaseAction.HOLD


def test_trail_mode_lets_a_sell_follow_the_ask_up_but_not_down() -> None:
    p = params(Side.SELL, mode=StalkMode.TRAIL)
    state, up = chase_on_quote(placed(p), p, D("60005.0"), D("60005.1"), 600)
    _, down = chase_on_quote(state, p, D("60001.0"), D("60001.1"), 1200)
    assert (up.price, down.action) == (D("60005.1"), ChaseAction.HOLD)


def test_a_quote_within_the_throttle_only_moves_the_target() -> None:
    p = params()
    state, decision = chase_on_quote(placed(p), p, D("60001.0"), D("60001.1"), 499)
    assert (decision.action, state.target_price, state.working_price) == (
        ChaseAction.HOLD, D("60001.0"), D("60000.0"))


def test_a_burst_of_quotes_is_coalesced_so_the_latest_price_wins() -> None:
    p = params()
    state = placed(p)
    state, _ = chase_on_quote(state, p, D("60001.0"), D("60001.1"), 100)
    state, _ = chase_on_quote(state, p, D("60003.0"), D("60003.1"), 200)
    _, decision = chase_on_quote(state, p, D("60002.0"), D("60002.1"), 500)
    assert (decision.action, decision.price) == (ChaseAction.REPRICE, D("60002.0"))


def test_the_chase_cancels_itself_when_the_mid_drifts_beyond_the_max_distance() -> None:
    p = params(max_distance_pct=D("1"))
    state, decision = chase_on_quote(placed(p), p, D("60700.0"), D("60700.1"), 600)
    assert decision.action is ChaseAction.CANCEL and "drifted" in decision.reason and state.finished


def test_a_partial_fill_reduces_the_repriced_quantity() -> None:
    p = params()
    state = chase_on_fill(placed(p), p, D("0.4"))
    _, decision = chase_on_quote(state, p, D("60001.0"), D("60001.1"), 600)
    assert decision.quantity == D("0.600")


def test_the_chase_is_done_when_the_remainder_is_below_the_min_notional() -> None:
    p = params()
    state = chase_on_fill(placed(p), p, D("0.999"))  # 0.001 left: below min qty and 100 USDT
    state, decision = chase_on_quote(state, p, D("60000.0"), D("60000.1"), 600)
    assert decision.action is ChaseAction.DONE and state.finished


def test_a_finished_chase_holds_on_later_quotes() -> None:
    p = params()
    state = chase_on_fill(placed(p), p, D("1"))
    state, _ = chase_on_quote(state, p, D("60000.0"), D("60000.1"), 600)
    _, decision = chase_on_quote(state, p, D("60000.0"), D("60000.1"), 1200)
    assert decision.action is ChaseAction.HOLD


def test_an_overfill_raises() -> None:
    p = params()
    with pytest.raises(ValueError, match="exceed"):
        chase_on_fill(placed(p), p, D("1.5"))


def test_the_remaining_quantity_is_rounded_down_to_the_step() -> None:
    p = params(quantity=D("1.0005"))
    assert chase_remaining(ChaseState(), p) == D("1.000")


def test_a_crossed_book_is_skipped() -> None:
    state, decision = chase_on_quote(ChaseState(), params(), D("60001"), D("60000"), 0)
    assert (decision.action, state) == (ChaseAction.HOLD, ChaseState())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantity": D("0")}, "quantity must be positive"),
        ({"offset_ticks": -1}, "offset_ticks"),
        ({"offset_ticks": 1001}, "offset_ticks"),
        ({"max_distance_pct": D("0")}, "max_distance_pct"),
        ({"stalk_mode": "sideways"}, "unknown stalk mode"),
        ({"reprice_throttle_ms": -1}, "reprice_throttle_ms"),
    ],
)
def test_invalid_params_are_refused_with_a_clear_message(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"side": Side.BUY, "quantity": D("1"), "rules": BTC, **kwargs}
    with pytest.raises(ValueError, match=message):
        ChaseParams(**values)  # type: ignore[arg-type]


def test_a_stalk_mode_given_as_text_is_accepted() -> None:
    assert params(mode="trail").stalk_mode is StalkMode.TRAIL  # type: ignore[arg-type]


quotes = st.lists(
    st.tuples(st.integers(min_value=0, max_value=400), st.integers(min_value=-50, max_value=50),
              st.integers(min_value=1, max_value=5)),
    min_size=1, max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(quotes=quotes, throttle=st.integers(min_value=0, max_value=1000),
       mode=st.sampled_from(list(StalkMode)), side=st.sampled_from(list(Side)),
       offset=st.integers(min_value=0, max_value=20))
def test_reprices_respect_the_throttle_and_the_tick_grid(
    quotes: list[tuple[int, int, int]], throttle: int, mode: StalkMode, side: Side, offset: int
) -> None:
    p = params(side, mode, reprice_throttle_ms=throttle, offset_ticks=offset, max_distance_pct=D("50"))
    state, now, bid = ChaseState(), 0, D("60000.0")
    sent_at: list[int] = []
    for step_ms, move_ticks, spread_ticks in quotes:
        now += step_ms
        bid += move_ticks * BTC.tick_size
        state, decision = chase_on_quote(state, p, bid, bid + spread_ticks * BTC.tick_size, now)
        if decision.action in (ChaseAction.PLACE, ChaseAction.REPRICE):
            assert decision.price is not None and decision.price % BTC.tick_size == 0
            sent_at.append(now)
    assert all(later - earlier >= throttle for earlier, later in itertools.pairwise(sent_at))
