"""TWAP: a jittered schedule that sums exactly, a price limit that rolls lots forward, and baskets."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algos.domain.twap import (
    BasketLegSpec,
    Lot,
    TwapLeg,
    TwapSlice,
    TwapState,
    twap_basket_due,
    twap_basket_plan,
    twap_basket_progress,
    twap_due,
    twap_plan,
    twap_progress,
)
from trading.domain.instruments import InstrumentRules
from trading.domain.types import Side

D = Decimal

BTC = InstrumentRules(
    symbol="BTCUSDT", tick_size=D("0.10"), step_size=D("0.001"), min_qty=D("0.002"), max_qty=D("1000"),
    min_notional=D("100"),
)
ETH = InstrumentRules(
    symbol="ETHUSDT", tick_size=D("0.01"), step_size=D("0.01"), min_qty=D("0.01"), max_qty=D("10000"),
    min_notional=D("20"),
)
PRICE = D("60000")


def plan(total: str = "1", lots: int = 10, irregular: bool = False, seed: int = 7) -> list[Lot]:
    return twap_plan(D(total), lots, 60_000, 1_000_000, BTC, PRICE, random.Random(seed), irregular=irregular)


def test_regular_lots_sum_exactly_to_the_total() -> None:
    assert sum(lot.quantity for lot in plan("1.003", 10)) == D("1.003")


def test_regular_lots_differ_by_at_most_one_step() -> None:
    sizes = {lot.quantity for lot in plan("1.003", 10)}
    assert sizes == {D("0.101"), D("0.100")}


def test_the_first_lot_is_at_the_start() -> None:
    assert plan()[0].at_ms == 1_000_000


def test_lot_times_stay_within_thirty_percent_of_the_grid() -> None:
    lots = plan(lots=10)
    assert all(abs(lot.at_ms - (1_000_000 + i * 60_000)) <= 18_000 for i, lot in enumerate(lots))


def test_the_same_seed_gives_the_same_plan() -> None:
    assert plan(irregular=True, seed=3) == plan(irregular=True, seed=3)


def test_irregular_lots_are_not_all_equal() -> None:
    assert len({lot.quantity for lot in plan(irregular=True)}) > 2


def test_lots_are_merged_rather_than_fall_below_the_min_notional() -> None:
    lots = plan("0.005", 10)  # 100 USDT needs 0.002 at 60000: at most two lots
    assert [lot.quantity for lot in lots] == [D("0.003"), D("0.002")]


def test_merged_lots_still_end_at_the_horizon() -> None:
    assert plan("0.005", 10)[-1].at_ms == plan("1", 10)[-1].at_ms


def test_a_total_below_one_valid_order_is_refused() -> None:
    with pytest.raises(ValueError, match="below the minimum"):
        plan("0.001", 3)


def test_a_total_off_the_step_grid_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple of the step"):
        plan("1.0001", 3)


def leg(limit: str | None = None, side: Side = Side.BUY) -> TwapLeg:
    lots = (Lot(0, D("0.1")), Lot(1000, D("0.1")), Lot(2000, D("0.1")))
    return TwapLeg("BTCUSDT", side, lots, None if limit is None else D(limit))


def test_nothing_is_sent_before_the_first_lot_time() -> None:
    assert twap_due(leg(), TwapState(), -1, PRICE) == (TwapState(), [])


def test_a_due_lot_becomes_a_slice() -> None:
    state, slices = twap_due(leg(), TwapState(), 0, PRICE)
    assert slices == [TwapSlice("BTCUSDT", Side.BUY, D("0.1"))] and state.next_index == 1


def test_lots_missed_while_away_are_sent_together() -> None:
    _, slices = twap_due(leg(), TwapState(), 1500, PRICE)
    assert [s.quantity for s in slices] == [D("0.2")]


def test_a_buy_lot_is_skipped_while_the_mid_is_above_the_limit_and_rolls_forward() -> None:
    state, skipped = twap_due(leg("59000"), TwapState(), 0, PRICE)
    _, slices = twap_due(leg("59000"), state, 1000, D("58900"))
    assert (skipped, [s.quantity for s in slices]) == ([], [D("0.2")])


def test_a_sell_lot_is_skipped_while_the_mid_is_below_the_limit() -> None:
    state, slices = twap_due(leg("61000", Side.SELL), TwapState(), 0, PRICE)
    assert slices == [] and state.carried == D("0.1")


def test_the_final_lot_takes_what_remains() -> None:
    state, _ = twap_due(leg("59000"), TwapState(), 1000, PRICE)
    state, slices = twap_due(leg("59000"), state, 2000, D("58000"))
    assert [s.quantity for s in slices] == [D("0.3")] and state.finished


def test_the_limit_holds_even_at_the_horizon_and_the_rest_is_unexecuted() -> None:
    state, slices = twap_due(leg("59000"), TwapState(), 2000, PRICE)
    assert (slices, state.unexecuted, state.finished) == ([], D("0.3"), True)


def test_without_a_mid_the_tick_is_skipped() -> None:
    assert twap_due(leg(), TwapState(), 5000, None) == (TwapState(), [])


def test_progress_is_the_fraction_sent() -> None:
    state, _ = twap_due(leg(), TwapState(), 0, PRICE)
    assert twap_progress(leg(), state) == D("0.1") / D("0.3")


def basket() -> list[TwapLeg]:
    specs = [BasketLegSpec("BTCUSDT", Side.BUY, D("0.5")), BasketLegSpec("ETHUSDT", Side.SELL, D("10"))]
    return twap_basket_plan(specs, 4, 1000, 0, {"BTCUSDT": BTC, "ETHUSDT": ETH},
                            {"BTCUSDT": PRICE, "ETHUSDT": D("3000")}, random.Random(1))


def test_basket_legs_share_one_timeline() -> None:
    btc, eth = basket()
    assert [lot.at_ms for lot in btc.lots] == [lot.at_ms for lot in eth.lots]


def test_basket_progress_is_the_mean_of_the_legs_and_reaches_one() -> None:
    legs = basket()
    states, _ = twap_basket_due(legs, [TwapState(), TwapState()], 1000 * 10, {"BTCUSDT": PRICE})
    assert twap_basket_progress(legs, states) == D("0.5")
    states, _ = twap_basket_due(legs, states, 1000 * 10, {"ETHUSDT": D("3000")})
    assert twap_basket_progress(legs, states) == D(1)


def test_a_basket_with_a_symbol_twice_is_refused() -> None:
    specs = [BasketLegSpec("BTCUSDT", Side.BUY, D("0.5")), BasketLegSpec("BTCUSDT", Side.SELL, D("0.5"))]
    with pytest.raises(ValueError, match="once"):
        twap_basket_plan(specs, 2, 1000, 0, {"BTCUSDT": BTC}, {"BTCUSDT": PRICE}, random.Random(1))


@settings(max_examples=200, deadline=None)
@given(total_steps=st.integers(min_value=2, max_value=2_000_000), lots=st.integers(min_value=1, max_value=60),
       seed=st.integers(min_value=0, max_value=2**32), irregular=st.booleans(),
       price=st.decimals(min_value=D("100"), max_value=D("100000"), places=1))
def test_lots_sum_exactly_and_each_is_a_valid_step_multiple(
    total_steps: int, lots: int, seed: int, irregular: bool, price: Decimal
) -> None:
    total = total_steps * BTC.step_size
    if total * price < BTC.min_notional:
        return
    planned = twap_plan(total, lots, 10_000, 0, BTC, price, random.Random(seed), irregular=irregular)
    assert sum(lot.quantity for lot in planned) == total
    assert 1 <= len(planned) <= lots
    for lot in planned:
        assert lot.quantity % BTC.step_size == 0 and lot.quantity >= BTC.min_qty
        assert lot.quantity * price >= BTC.min_notional
    times = [lot.at_ms for lot in planned]
    assert times == sorted(set(times))


@settings(max_examples=100, deadline=None)
@given(mids=st.lists(st.integers(min_value=58_000, max_value=62_000), min_size=3, max_size=3))
def test_sent_plus_unexecuted_always_equals_the_leg(mids: list[int]) -> None:
    state, sent = TwapState(), D(0)
    for at, mid in zip((0, 1000, 2000), mids, strict=True):
        state, slices = twap_due(leg("60000"), state, at, D(mid))
        sent += sum((s.quantity for s in slices), D(0))
    assert state.finished and sent + state.unexecuted == D("0.3") == state.sent + state.unexecuted
