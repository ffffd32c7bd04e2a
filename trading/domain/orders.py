"""The order state machine: a table of allowed moves, fills that never go backwards."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.frozen import quick_init
from core.money import ZERO


class OrderStatus(StrEnum):
    PENDING_SUBMIT = "pending_submit"  # row committed, request not yet answered
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCEL_PENDING = "cancel_pending"  # cancel sent, not yet proven
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # ambiguous outcome: counted live until a query proves it

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_live(self) -> bool:
        """Could this order still trade? Unknown and pending orders count, to be safe on exposure."""
        return not self.is_terminal


S = OrderStatus
TERMINAL_STATUSES = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED})

# A move not in this table is either stale (absorbed) or impossible; neither changes the order.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_SUBMIT: frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELED,
                                 S.REJECTED, S.EXPIRED, S.UNKNOWN}),
    S.UNKNOWN: frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELED,
                          S.REJECTED, S.EXPIRED}),
    S.NEW: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELED, S.EXPIRED}),
    # A cancel can lose the race to a fill, or be refused while the order stays open.
    S.CANCEL_PENDING: frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


@quick_init
@dataclass(frozen=True, slots=True)
class OrderState:
    """What we know of one order's progress."""

    status: OrderStatus
    quantity: Decimal
    filled_quantity: Decimal = ZERO
    average_price: Decimal | None = None

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity


@quick_init
@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A report of the order's state from the exchange (stream event, REST query or our own request)."""

    status: OrderStatus
    filled_quantity: Decimal | None = None  # cumulative, as the exchange reports it
    average_price: Decimal | None = None


def apply_order_update(state: OrderState, update: OrderUpdate) -> tuple[OrderState, bool]:
    """Fold a report into the state; returns the new state and whether anything changed.

    Reports arrive duplicated and out of order (FILLED before NEW, a REST snapshot older than a
    stream fill): the cumulative filled quantity only grows, and a terminal order absorbs them.
    """
    if state.status.is_terminal:
        return state, False
    new_state = state
    if update.status is S.FILLED:  # the exchange's FILLED means executed = ordered, whatever else it says
        update = OrderUpdate(S.FILLED, state.quantity, update.average_price)
    if update.filled_quantity is not None and update.filled_quantity > state.filled_quantity:
        if update.filled_quantity > state.quantity:
            raise ValueError(f"filled {update.filled_quantity} exceeds the order quantity {state.quantity}")
        new_state = OrderState(new_state.status, new_state.quantity, update.filled_quantity,
                               update.average_price or state.average_price)  # not replace(): a hot path
    target = _status_implied_by_fills(new_state, update.status)
    if target != new_state.status and can_transition(new_state.status, target):
        new_state = OrderState(target, new_state.quantity, new_state.filled_quantity, new_state.average_price)
    return new_state, new_state != state


def _status_implied_by_fills(state: OrderState, reported: OrderStatus) -> OrderStatus:
    """A partial fill seen while a cancel is pending, or a full fill seen in any report, wins."""
    if state.filled_quantity == state.quantity:
        return S.FILLED
    if reported in (S.NEW, S.PENDING_SUBMIT) and state.filled_quantity > 0:
        return S.PARTIALLY_FILLED
    return reported
