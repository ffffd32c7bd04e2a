"""Scalper layers: offsets, skewed sizes summing exactly, backoff, the fill window and the PnL EMA."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algos.domain.layers import (
    FillWindow,
    SlotPnl,
    fill_window_allows,
    fill_window_count,
    fill_window_record,
    layer_offsets,
    layer_prices,
    layer_sizes,
    skew_weights,
    slot_backoff_ms,
    slot_pnl_record,
)
from trading.domain.instruments import InstrumentRules
from trading.domain.types import Side

D = Decimal

BTC = InstrumentRules(
    symbol="BTCUSDT", tick_size=D("0.10"), step_size=D("0.001"), min_qty=D("0.002"), max_qty=D("1000"),
    min_notional=D("100"),
)
PRICE = D("60000")


def test_offsets_double_per_layer() -> None:
    assert layer_offsets(D("5"), 4, D("100")) == [D("5"), D("10"), D("20"), D("40")]


def test_offsets_are_capped_at_the_max_spread() -> None:
    assert layer_offsets(D("5"), 5, D("25")) == [D("5"), D("10"), D("20"), D("25"), D("25")]


def test_buy_layers_sit_below_the_mid_on_the_tick_grid() -> None:
    assert layer_prices(D("60000"), Side.BUY, [D("5"), D("10")], BTC.tick_size) == [D("59970.0"), D("59940.0")]


def test_sell_layers_sit_above_the_mid_rounded_up() -> None:
    assert layer_prices(D("100.01"), Side.SELL, [D("1")], BTC.tick_size) == [D("100.1")]


def test_zero_skew_gives_equal_layers() -> None:
    assert layer_sizes(D("0.9"), 3, D("0"), BTC, PRICE) == [D("0.3")] * 3


def test_positive_skew_makes_outer_layers_larger() -> None:
    sizes = layer_sizes(D("1"), 4, D("1"), BTC, PRICE)
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_negative_skew_makes_inner_layers_larger() -> None:
    sizes = layer_sizes(D("1"), 4, D("-0.5"), BTC, PRICE)
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]


def test_the_rounding_remainder_goes_to_the_heaviest_layer() -> None:
    assert layer_sizes(D("1"), 3, D("0"), BTC, PRICE) == [D("0.334"), D("0.333"), D("0.333")]


def test_layers_below_the_minimum_are_dropped_from_the_outside() -> None:
    assert layer_sizes(D("0.005"), 4, D("0"), BTC, PRICE) == [D("0.003"), D("0.002")]


def test_a_total_below_one_valid_order_is_refused() -> None:
    with pytest.raises(ValueError, match="below the minimum"):
        layer_sizes(D("0.001"), 3, D("0"), BTC, PRICE)


def test_a_skew_outside_minus_one_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="skew"):
        skew_weights(3, D("1.5"))


@pytest.mark.parametrize(("fills", "delay"), [(0, 0), (1, 100), (2, 200), (3, 400), (5, 1600), (6, 1600), (99, 1600)])
def test_backoff_doubles_per_fill_and_caps_at_sixteen_times_the_base(fills: int, delay: int) -> None:
    assert slot_backoff_ms(100, fills) == delay


def test_the_fill_window_counts_only_the_last_sixty_seconds() -> None:
    window = fill_window_record(fill_window_record(FillWindow(), Side.BUY, 0), Side.BUY, 30_000)
    assert (fill_window_count(window, Side.BUY, 59_999), fill_window_count(window, Side.BUY, 60_000)) == (2, 1)


def test_the_fill_window_counts_each_side_apart() -> None:
    window = fill_window_record(FillWindow(), Side.SELL, 0)
    assert (fill_window_count(window, Side.BUY, 1), fill_window_count(window, Side.SELL, 1)) == (0, 1)


def test_the_fill_window_refuses_past_the_max_per_minute() -> None:
    window = FillWindow()
    for at in (0, 1000, 2000):
        window = fill_window_record(window, Side.BUY, at)
    assert (fill_window_allows(window, Side.BUY, 3000, 3), fill_window_allows(window, Side.BUY, 60_001, 3)) == (
        False, True)


def test_the_pnl_ema_decays_by_point_eight_five() -> None:
    pnl = slot_pnl_record(slot_pnl_record(SlotPnl(), D("10")), D("-2"))
    assert (pnl.realized, pnl.ema, pnl.trades) == (D("8"), D("0.85") * D("1.5") + D("0.15") * D("-2"), 2)


@settings(max_examples=300, deadline=None)
@given(total_steps=st.integers(min_value=2, max_value=5_000_000), count=st.integers(min_value=1, max_value=12),
       skew=st.decimals(min_value=D("-1"), max_value=D("1"), places=3))
def test_layer_sizes_sum_exactly_to_the_total_for_any_skew(total_steps: int, count: int, skew: Decimal) -> None:
    total = total_steps * BTC.step_size
    if total * PRICE < BTC.min_notional:
        return
    sizes = layer_sizes(total, count, skew, BTC, PRICE)
    assert sum(sizes) == total and 1 <= len(sizes) <= count
    assert all(size % BTC.step_size == 0 and size >= BTC.min_qty and size * PRICE >= BTC.min_notional
               for size in sizes)
