"""Positions at average cost: quantity, realized and unrealized PnL agree with the fills that made them."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.domain.positions import Fill, Position, PositionChangeKind, apply_fill
from trading.domain.types import Side

D = Decimal
K = PositionChangeKind
SYMBOL = "BTCUSDT"
TICK = D("0.1")
STEP = D("0.001")
# The average entry is a Decimal division at 28 significant digits; everything else is exact.
RELATIVE_TOLERANCE = D("1e-20")  # observed: below 1e-27

_counter = iter(range(10**9))


def fill(side: Side, quantity: str | Decimal, price: str | Decimal, fee: str | Decimal = "0") -> Fill:
    return Fill(trade_key=f"t{next(_counter)}", symbol=SYMBOL, side=side, price=D(price), quantity=D(quantity),
                fee=D(fee))


def book(fills: Sequence[Fill], position: Position | None = None) -> Position:
    position = position or Position(symbol=SYMBOL)
    for each in fills:
        position, _ = apply_fill(position, each)
    return position


# ---- one behaviour each -------------------------------------------------------------------------


def test_a_new_position_is_flat_with_nothing_realized() -> None:
    position = Position(symbol=SYMBOL)

    assert position.is_flat
    assert (position.realized_pnl, position.fees, position.net_realized_pnl) == (0, 0, 0)


def test_a_buy_opens_a_long_at_the_fill_price() -> None:
    position, change = apply_fill(Position(symbol=SYMBOL), fill(Side.BUY, "0.010", "60000"))

    assert (position.quantity, position.average_entry) == (D("0.010"), D("60000"))
    assert change.kind is K.OPENED


def test_a_sell_opens_a_short_with_a_negative_quantity() -> None:
    position, change = apply_fill(Position(symbol=SYMBOL), fill(Side.SELL, "0.010", "60000"))

    assert position.quantity == D("-0.010")
    assert change.kind is K.OPENED


def test_adding_to_a_long_averages_the_entry_by_quantity() -> None:
    position = book([fill(Side.BUY, "1", "100")])

    position, change = apply_fill(position, fill(Side.BUY, "3", "120"))

    assert (position.quantity, position.average_entry) == (D("4"), D("115"))
    assert (change.kind, change.realized_pnl) == (K.ADDED, 0)


def test_reducing_a_long_realizes_pnl_on_the_closed_part_and_keeps_the_entry() -> None:
    position = book([fill(Side.BUY, "4", "100")])

    position, change = apply_fill(position, fill(Side.SELL, "1", "130"))

    assert (position.quantity, position.average_entry) == (D("3"), D("100"))
    assert (change.kind, change.realized_pnl) == (K.REDUCED, D("30"))
    assert position.realized_pnl == D("30")


def test_buying_back_a_short_lower_realizes_a_gain() -> None:
    position = book([fill(Side.SELL, "2", "100")])

    position, change = apply_fill(position, fill(Side.BUY, "2", "90"))

    assert change.realized_pnl == D("20")
    assert change.kind is K.CLOSED


def test_closing_a_position_leaves_it_flat_with_no_entry() -> None:
    position = book([fill(Side.BUY, "2", "100"), fill(Side.SELL, "2", "95")])

    assert position.is_flat
    assert position.average_entry == 0
    assert position.realized_pnl == D("-10")


def test_a_flip_realizes_only_the_closed_part_and_opens_the_rest_at_the_fill_price() -> None:
    position = book([fill(Side.BUY, "2", "100")])

    position, change = apply_fill(position, fill(Side.SELL, "5", "110"))

    assert change.kind is K.FLIPPED
    assert change.realized_pnl == D("20")  # (110 - 100) x 2, not x 5
    assert (position.quantity, position.average_entry) == (D("-3"), D("110"))
    assert (change.quantity_before, change.quantity_after) == (D("2"), D("-3"))


def test_fees_accumulate_apart_from_the_gross_realized_pnl() -> None:
    position = book([fill(Side.BUY, "1", "100", fee="0.04"), fill(Side.SELL, "1", "110", fee="0.044")])

    assert position.realized_pnl == D("10")
    assert position.fees == D("0.084")
    assert position.net_realized_pnl == D("9.916")


def test_a_maker_rebate_is_a_negative_fee_that_raises_net_pnl() -> None:
    position = book([fill(Side.BUY, "1", "100", fee="-0.01")])

    assert position.fees == D("-0.01")
    assert position.net_realized_pnl == D("0.01")


def test_unrealized_pnl_of_a_short_grows_as_the_mark_falls() -> None:
    position = book([fill(Side.SELL, "2", "100")])

    assert position.unrealized_pnl(D("90")) == D("20")
    assert position.unrealized_pnl(D("105")) == D("-10")


def test_notional_is_positive_for_a_short() -> None:
    position = book([fill(Side.SELL, "2", "100")])

    assert position.notional(D("90")) == D("180")


def test_a_fill_for_another_symbol_is_refused() -> None:
    with pytest.raises(ValueError, match="ETHUSDT"):
        apply_fill(Position(symbol="ETHUSDT"), fill(Side.BUY, "1", "100"))


@pytest.mark.parametrize(("quantity", "price"), [("0", "100"), ("-1", "100"), ("1", "0"), ("1", "-100")])
def test_a_fill_needs_a_positive_quantity_and_price(quantity: str, price: str) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        fill(Side.BUY, quantity, price)


# ---- properties ---------------------------------------------------------------------------------

sides = st.sampled_from(Side)
prices = st.integers(min_value=10_000, max_value=1_000_000).map(lambda ticks: ticks * TICK)  # 1000.0 .. 100000.0
# Mostly small quantities, so positions close and flip often; sometimes large ones.
quantities = (st.integers(min_value=1, max_value=20) | st.integers(min_value=1, max_value=5_000)).map(
    lambda steps: steps * STEP
)
fee_rates = st.sampled_from([D("0"), D("0.0002"), D("0.0005"), D("-0.0001")])


@st.composite
def booked_fills(draw: st.DrawFn) -> Fill:
    side, price, quantity = draw(sides), draw(prices), draw(quantities)
    fee = (price * quantity * draw(fee_rates)).quantize(D("1e-8"))
    return Fill(trade_key="t", symbol=SYMBOL, side=side, price=price, quantity=quantity, fee=fee)


fill_lists = st.lists(booked_fills(), min_size=1, max_size=40)


def cash_flow_pnl(fills: Sequence[Fill], mark_price: Decimal) -> Decimal:
    """Total PnL gross of fees, without average cost: cash paid and received plus what is held at the mark."""
    held = sum((each.signed_quantity for each in fills), D(0))
    cash = sum((-each.signed_quantity * each.price for each in fills), D(0))
    return cash + held * mark_price


@settings(max_examples=200, deadline=None)
@given(fills=fill_lists)
def test_the_position_quantity_is_the_sum_of_the_signed_fills(fills: list[Fill]) -> None:
    position = book(fills)

    assert position.quantity == sum((each.signed_quantity for each in fills), D(0))


@settings(max_examples=200, deadline=None)
@given(fills=fill_lists, mark_price=prices)
def test_realized_plus_unrealized_pnl_equals_the_cash_flow_recompute(fills: list[Fill], mark_price: Decimal) -> None:
    position = book(fills)

    total = position.realized_pnl + position.unrealized_pnl(mark_price)

    expected = cash_flow_pnl(fills, mark_price)
    scale = sum((each.quantity * each.price for each in fills), D(0)) + abs(position.quantity) * mark_price
    assert abs(total - expected) <= RELATIVE_TOLERANCE * scale


@settings(max_examples=200, deadline=None)
@given(fills=fill_lists)
def test_fees_reduce_net_realized_pnl_exactly(fills: list[Fill]) -> None:
    position = book(fills)

    total_fees = sum((each.fee for each in fills), D(0))
    assert position.fees == total_fees
    assert position.net_realized_pnl == position.realized_pnl - total_fees


@settings(max_examples=200, deadline=None)
@given(fills=fill_lists)
def test_the_realized_pnl_of_each_change_adds_up_to_the_positions(fills: list[Fill]) -> None:
    position = Position(symbol=SYMBOL)
    realized = D(0)

    for each in fills:
        before = position
        position, change = apply_fill(position, each)
        realized += change.realized_pnl
        assert (change.quantity_before, change.quantity_after) == (before.quantity, position.quantity)
        assert change.fee == each.fee

    assert position.realized_pnl == realized


def _expected_kind(before: Decimal, after: Decimal) -> PositionChangeKind:
    if before == 0:
        return K.OPENED
    if after == 0:
        return K.CLOSED
    if (before > 0) != (after > 0):
        return K.FLIPPED
    return K.ADDED if abs(after) > abs(before) else K.REDUCED


@settings(max_examples=200, deadline=None)
@given(fills=fill_lists)
def test_each_change_is_named_by_what_it_did_to_the_quantity(fills: list[Fill]) -> None:
    position = Position(symbol=SYMBOL)

    for each in fills:
        before = position
        position, change = apply_fill(position, each)
        assert change.kind is _expected_kind(before.quantity, position.quantity)
        if change.kind in (K.OPENED, K.ADDED):
            assert change.realized_pnl == 0
        if change.kind is K.REDUCED:
            assert position.average_entry == before.average_entry
        if change.kind is K.CLOSED:
            assert position.average_entry == 0


@settings(max_examples=200, deadline=None)
@given(history=fill_lists, price=prices, extra=quantities, fee=st.integers(min_value=0, max_value=10**6))
def test_a_fill_crossing_zero_splits_into_a_close_and_an_open_at_the_fill_price(
    history: list[Fill], price: Decimal, extra: Decimal, fee: int,
) -> None:
    position = book(history)
    if position.is_flat:
        position = book([fill(Side.BUY, "0.5", "50000")], position)
    held = abs(position.quantity)
    side = Side.SELL if position.quantity > 0 else Side.BUY
    fee_paid = fee * D("1e-8")

    flipped, change = apply_fill(position, fill(side, held + extra, price, fee_paid))

    assert change.kind is K.FLIPPED
    assert change.realized_pnl == (price - position.average_entry) * position.quantity  # the closed part only
    assert flipped.quantity == extra * side.sign
    assert flipped.average_entry == price
    assert flipped.realized_pnl == position.realized_pnl + change.realized_pnl
    assert flipped.fees == position.fees + fee_paid
    split = book([fill(side, held, price, fee_paid), fill(side, extra, price)], position)
    assert split == flipped
