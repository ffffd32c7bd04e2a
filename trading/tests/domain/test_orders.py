"""The order state machine: reports arrive duplicated and out of order, and the order never regresses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.domain.orders import (
    ALLOWED_TRANSITIONS,
    TERMINAL_STATUSES,
    OrderState,
    OrderStatus,
    OrderUpdate,
    apply_order_update,
)

D = Decimal
S = OrderStatus
STEP = D("0.001")
QUANTITY = D("0.010")


def pending(quantity: Decimal = QUANTITY) -> OrderState:
    return OrderState(status=S.PENDING_SUBMIT, quantity=quantity)


def apply_all(state: OrderState, *updates: OrderUpdate) -> OrderState:
    for update in updates:
        state, _ = apply_order_update(state, update)
    return state


def apply_checked(state: OrderState, update: OrderUpdate) -> OrderState:
    """Apply one report and assert the invariants that hold for every report, stale or not."""
    new_state, changed = apply_order_update(state, update)
    assert changed == (new_state != state)
    assert new_state.quantity == state.quantity
    assert state.filled_quantity <= new_state.filled_quantity <= new_state.quantity
    if state.status.is_terminal:
        assert new_state == state
    if new_state.status != state.status:
        assert new_state.status in ALLOWED_TRANSITIONS[state.status]
    return new_state


# ---- the table ----------------------------------------------------------------------------------


def test_every_status_has_a_row_in_the_transition_table() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(OrderStatus)


def test_a_terminal_status_allows_no_move() -> None:
    for status in TERMINAL_STATUSES:
        assert ALLOWED_TRANSITIONS[status] == frozenset()


def test_every_live_status_can_still_be_filled() -> None:
    for status in OrderStatus:
        if status.is_live:
            assert S.FILLED in ALLOWED_TRANSITIONS[status]


def test_unknown_and_pending_orders_count_as_live() -> None:
    assert S.UNKNOWN.is_live
    assert S.PENDING_SUBMIT.is_live
    assert S.CANCEL_PENDING.is_live
    assert not S.CANCELED.is_live


# ---- single reports -----------------------------------------------------------------------------


def test_an_acknowledgement_moves_a_pending_order_to_new() -> None:
    state, changed = apply_order_update(pending(), OrderUpdate(S.NEW, D("0")))

    assert changed
    assert state.status is S.NEW


def test_a_partial_fill_records_the_cumulative_quantity_and_average_price() -> None:
    state, _ = apply_order_update(pending(), OrderUpdate(S.PARTIALLY_FILLED, D("0.004"), D("60000.1")))

    assert (state.status, state.filled_quantity, state.average_price) == (S.PARTIALLY_FILLED, D("0.004"), D("60000.1"))
    assert state.remaining_quantity == D("0.006")


def test_a_filled_report_before_new_leaves_the_order_filled() -> None:
    state = apply_all(pending(), OrderUpdate(S.FILLED, QUANTITY, D("60000")), OrderUpdate(S.NEW, D("0")))

    assert (state.status, state.filled_quantity) == (S.FILLED, QUANTITY)


def test_a_stale_smaller_cumulative_quantity_is_absorbed() -> None:
    state = apply_all(pending(), OrderUpdate(S.PARTIALLY_FILLED, D("0.006"), D("60000")))

    new_state, changed = apply_order_update(state, OrderUpdate(S.PARTIALLY_FILLED, D("0.002"), D("59000")))

    assert not changed
    assert new_state == state


def test_a_duplicate_report_changes_nothing() -> None:
    update = OrderUpdate(S.PARTIALLY_FILLED, D("0.004"), D("60000"))
    state = apply_all(pending(), update)

    _, changed = apply_order_update(state, update)

    assert not changed


def test_a_new_report_carrying_fills_means_partially_filled() -> None:
    state, _ = apply_order_update(pending(), OrderUpdate(S.NEW, D("0.003")))

    assert state.status is S.PARTIALLY_FILLED


def test_a_partial_report_with_the_full_quantity_means_filled() -> None:
    state, _ = apply_order_update(pending(), OrderUpdate(S.PARTIALLY_FILLED, QUANTITY, D("60000")))

    assert state.status is S.FILLED


def test_a_fill_wins_over_a_pending_cancel() -> None:
    state = apply_all(pending(), OrderUpdate(S.NEW, D("0")), OrderUpdate(S.CANCEL_PENDING))

    state, _ = apply_order_update(state, OrderUpdate(S.FILLED, QUANTITY, D("60000")))

    assert state.status is S.FILLED


def test_a_cancel_keeps_the_quantity_already_filled() -> None:
    state = apply_all(pending(), OrderUpdate(S.PARTIALLY_FILLED, D("0.004"), D("60000")), OrderUpdate(S.CANCELED))

    assert (state.status, state.filled_quantity) == (S.CANCELED, D("0.004"))


def test_a_canceled_order_ignores_a_later_fill_report() -> None:
    state = apply_all(pending(), OrderUpdate(S.CANCELED))

    new_state, changed = apply_order_update(state, OrderUpdate(S.PARTIALLY_FILLED, D("0.004"), D("60000")))

    assert not changed
    assert new_state.status is S.CANCELED


def test_a_rejection_after_acknowledgement_is_absorbed() -> None:
    state = apply_all(pending(), OrderUpdate(S.NEW, D("0")))

    new_state, changed = apply_order_update(state, OrderUpdate(S.REJECTED))

    assert not changed
    assert new_state.status is S.NEW


def test_a_report_that_goes_back_to_pending_submit_is_absorbed() -> None:
    state = apply_all(pending(), OrderUpdate(S.UNKNOWN))

    new_state, _ = apply_order_update(state, OrderUpdate(S.PENDING_SUBMIT))

    assert new_state.status is S.UNKNOWN


def test_a_fill_beyond_the_order_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds the order quantity"):
        apply_order_update(pending(), OrderUpdate(S.PARTIALLY_FILLED, QUANTITY + STEP))


def test_a_report_without_an_average_price_keeps_the_known_one() -> None:
    state = apply_all(pending(), OrderUpdate(S.PARTIALLY_FILLED, D("0.004"), D("60000")))

    state, _ = apply_order_update(state, OrderUpdate(S.PARTIALLY_FILLED, D("0.005")))

    assert state.average_price == D("60000")


# ---- properties ---------------------------------------------------------------------------------

order_quantities = st.integers(min_value=1, max_value=50).map(lambda steps: steps * STEP)


@st.composite
def arbitrary_reports(draw: st.DrawFn) -> tuple[Decimal, list[OrderUpdate]]:
    """Any status with any cumulative quantity up to the order's: stale, duplicated, contradictory."""
    quantity = draw(order_quantities)
    steps = int(quantity / STEP)
    filled = st.none() | st.integers(min_value=0, max_value=steps).map(lambda n: n * STEP)
    price = st.none() | st.integers(min_value=500_000, max_value=700_000).map(lambda n: n * D("0.1"))
    report = st.builds(OrderUpdate, st.sampled_from(OrderStatus), filled, price)
    return quantity, draw(st.lists(report, max_size=30))


@settings(max_examples=300, deadline=None)
@given(case=arbitrary_reports())
def test_any_sequence_of_reports_never_regresses_the_order(case: tuple[Decimal, list[OrderUpdate]]) -> None:
    quantity, reports = case
    state = pending(quantity)

    for report in reports:
        state = apply_checked(state, report)


@st.composite
def life_of_a_filled_order(draw: st.DrawFn) -> tuple[Decimal, list[OrderUpdate]]:
    """Every report one order that ended FILLED could produce, with duplicates, before permutation."""
    quantity = draw(order_quantities)
    steps = int(quantity / STEP)
    partials = draw(st.lists(st.integers(min_value=1, max_value=steps), max_size=6, unique=True))
    reports = [OrderUpdate(S.FILLED, quantity, D("60000"))]
    reports += [OrderUpdate(S.PARTIALLY_FILLED, n * STEP, D("60000")) for n in partials]
    optional = [
        OrderUpdate(S.PENDING_SUBMIT),
        OrderUpdate(S.NEW, D("0")),
        OrderUpdate(S.NEW),
        OrderUpdate(S.UNKNOWN),  # a timed-out submit
        OrderUpdate(S.CANCEL_PENDING),  # our cancel, which lost the race
        OrderUpdate(S.NEW, min(partials, default=0) * STEP),  # the cancel refused: a REST snapshot
    ]
    reports += draw(st.lists(st.sampled_from(optional), max_size=6))
    reports += draw(st.lists(st.sampled_from(reports), max_size=4))  # duplicates
    return quantity, draw(st.permutations(reports))


@settings(max_examples=300, deadline=None)
@given(case=life_of_a_filled_order())
def test_any_order_of_a_filled_orders_reports_ends_filled_in_full(case: tuple[Decimal, list[OrderUpdate]]) -> None:
    quantity, reports = case
    state = pending(quantity)

    for report in reports:
        state = apply_checked(state, report)

    assert state.status is S.FILLED
    assert state.filled_quantity == quantity
    assert state.remaining_quantity == 0


def test_a_filled_report_without_quantities_means_the_whole_order_filled() -> None:
    state = OrderState(OrderStatus.NEW, Decimal("2"), Decimal("0.5"))

    new_state, changed = apply_order_update(state, OrderUpdate(OrderStatus.FILLED))

    assert changed and new_state.status is OrderStatus.FILLED and new_state.filled_quantity == Decimal("2")
