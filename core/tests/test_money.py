"""Decimal money: parsing exchange numbers, rounding to tick and step, notional checks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import (
    Rounding,
    is_multiple_of,
    meets_min_notional,
    notional,
    round_down_to_step,
    round_to_tick,
    to_decimal,
)

D = Decimal

# Increments as exchanges publish them: powers of ten (0.10, 0.001, 1) and a few others (0.5, 0.25, 5).
increments = st.builds(
    lambda coefficient, exponent: D(coefficient).scaleb(exponent),
    st.sampled_from([1, 10, 5, 25]),
    st.integers(min_value=-8, max_value=2),
)
# Amounts with up to 8 decimals and 12 integer digits: what prices and quantities look like.
amounts = st.decimals(min_value=D("0.00000001"), max_value=D("999999999999"), places=8)


def test_to_decimal_parses_an_exchange_string_exactly() -> None:
    assert to_decimal("0.00100000") == D("0.00100000")


def test_to_decimal_takes_an_int_exactly() -> None:
    assert to_decimal(12345678901234567890) == D("12345678901234567890")


def test_to_decimal_uses_a_floats_printed_repr_not_its_binary_value() -> None:
    assert to_decimal(0.1) == D("0.1")
    assert to_decimal(1.1) != D(1.1)


def test_to_decimal_keeps_a_float_with_many_digits_as_printed() -> None:
    assert to_decimal(67543.21) == D("67543.21")


def test_to_decimal_returns_a_decimal_unchanged() -> None:
    value = D("1.2300")

    assert to_decimal(value) is value


def test_to_decimal_refuses_a_bool() -> None:
    with pytest.raises(TypeError):
        to_decimal(True)


def test_to_decimal_refuses_text_that_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="not a number"):
        to_decimal("12,5")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", float("inf"), float("nan"), D("sNaN")])
def test_to_decimal_refuses_non_finite_values(value: str | float | Decimal) -> None:
    with pytest.raises(ValueError, match="finite"):
        to_decimal(value)


def test_to_decimal_refuses_other_types() -> None:
    with pytest.raises(TypeError, match="NoneType"):
        to_decimal(None)  # type: ignore[arg-type]


def test_round_to_tick_keeps_the_ticks_trailing_zero() -> None:
    assert str(round_to_tick(D("100.1"), D("0.10"))) == "100.10"


def test_round_to_tick_writes_a_whole_price_with_the_ticks_decimals() -> None:
    assert str(round_to_tick(D("100"), D("0.10"))) == "100.00"


def test_round_to_tick_to_nearest_rounds_half_to_even() -> None:
    assert round_to_tick(D("1.25"), D("0.1")) == D("1.2")
    assert round_to_tick(D("1.35"), D("0.1")) == D("1.4")


def test_round_to_tick_down_goes_to_the_lower_tick() -> None:
    assert round_to_tick(D("100.19"), D("0.10"), Rounding.DOWN) == D("100.10")


def test_round_to_tick_up_goes_to_the_higher_tick() -> None:
    assert round_to_tick(D("100.11"), D("0.10"), Rounding.UP) == D("100.20")


def test_round_to_tick_leaves_a_price_on_the_grid_unchanged_in_every_mode() -> None:
    for rounding in Rounding:
        assert round_to_tick(D("100.30"), D("0.10"), rounding) == D("100.30")


def test_round_to_tick_works_on_a_tick_that_is_not_a_power_of_ten() -> None:
    assert round_to_tick(D("101.3"), D("0.5"), Rounding.DOWN) == D("101.0")
    assert round_to_tick(D("101.3"), D("0.5"), Rounding.UP) == D("101.5")


def test_round_to_tick_refuses_a_zero_tick() -> None:
    with pytest.raises(ValueError, match="positive"):
        round_to_tick(D("100"), D("0"))


def test_round_down_to_step_truncates_to_the_step() -> None:
    assert round_down_to_step(D("0.0999"), D("0.001")) == D("0.099")


def test_round_down_to_step_gives_zero_below_one_step() -> None:
    assert round_down_to_step(D("0.0009"), D("0.001")) == 0


def test_round_down_to_step_keeps_the_steps_exponent() -> None:
    assert str(round_down_to_step(D("2"), D("0.001"))) == "2.000"


def test_round_down_to_step_rounds_a_negative_quantity_towards_zero() -> None:
    assert round_down_to_step(D("-1.2345"), D("0.001")) == D("-1.234")


def test_round_down_to_step_refuses_a_negative_step() -> None:
    with pytest.raises(ValueError, match="positive"):
        round_down_to_step(D("1"), D("-0.001"))


@settings(max_examples=300, deadline=None)
@given(quantity=amounts, step=increments)
def test_round_down_to_step_never_rounds_up(quantity: Decimal, step: Decimal) -> None:
    rounded = round_down_to_step(quantity, step)

    assert rounded <= quantity
    assert quantity - rounded < step
    assert rounded % step == 0


def test_round_down_to_step_never_rounds_up_a_quantity_with_more_than_28_digits() -> None:
    quantity = D("12345678901.999999999999999999")  # fits DecimalField(38, 18)

    assert round_down_to_step(quantity, D("1")) == D("12345678901")
    assert round_down_to_step(D("0.9999999999999999999999999999"), D("0.5")) == D("0.5")


@settings(max_examples=300, deadline=None)
@given(price=amounts, tick=increments, rounding=st.sampled_from(Rounding))
def test_round_to_tick_lands_on_the_grid_within_one_tick(price: Decimal, tick: Decimal, rounding: Rounding) -> None:
    rounded = round_to_tick(price, tick, rounding)

    assert rounded % tick == 0
    assert abs(rounded - price) < tick
    if rounding is Rounding.DOWN:
        assert rounded <= price
    elif rounding is Rounding.UP:
        assert rounded >= price
    else:
        assert abs(rounded - price) <= tick / 2


def test_is_multiple_of_ignores_trailing_zeros() -> None:
    assert is_multiple_of(D("0.30"), D("0.1"))


def test_is_multiple_of_detects_an_off_grid_value() -> None:
    assert not is_multiple_of(D("0.31"), D("0.1"))


def test_is_multiple_of_refuses_a_zero_increment() -> None:
    with pytest.raises(ValueError, match="positive"):
        is_multiple_of(D("1"), D("0"))


def test_notional_is_positive_for_a_short_quantity() -> None:
    assert notional(D("100"), D("-2")) == D("200")


def test_an_order_exactly_at_the_minimum_notional_meets_it() -> None:
    assert meets_min_notional(D("100"), D("0.05"), D("5"))


def test_an_order_below_the_minimum_notional_does_not_meet_it() -> None:
    assert not meets_min_notional(D("100"), D("0.049"), D("5"))
