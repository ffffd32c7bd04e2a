"""A signed one-way position netted at average cost: open, add, reduce, close, flip."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.frozen import quick_init
from core.money import ZERO

from .types import Side


class PositionChangeKind(StrEnum):
    OPENED = "opened"
    ADDED = "added"
    REDUCED = "reduced"
    CLOSED = "closed"
    FLIPPED = "flipped"


@quick_init
@dataclass(frozen=True, slots=True)
class Fill:
    """One execution as booked: the quantity is positive, the side gives its direction."""

    trade_key: str
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal = ZERO  # in the quote asset; negative for a rebate
    is_maker: bool = False

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"fill quantity must be positive, got {self.quantity}")
        if self.price <= 0:
            raise ValueError(f"fill price must be positive, got {self.price}")

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity * self.side.sign


@quick_init
@dataclass(frozen=True, slots=True)
class Position:
    """Signed quantity (long > 0), average entry of the open quantity, realized PnL and fees so far."""

    symbol: str
    quantity: Decimal = ZERO
    average_entry: Decimal = ZERO
    realized_pnl: Decimal = ZERO  # gross of fees
    fees: Decimal = ZERO

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0

    @property
    def net_realized_pnl(self) -> Decimal:
        return self.realized_pnl - self.fees

    def unrealized_pnl(self, mark_price: Decimal) -> Decimal:
        return (mark_price - self.average_entry) * self.quantity

    def notional(self, mark_price: Decimal) -> Decimal:
        return abs(self.quantity) * mark_price


@quick_init
@dataclass(frozen=True, slots=True)
class PositionChange:
    """What one fill did to a position."""

    kind: PositionChangeKind
    realized_pnl: Decimal  # realized by this fill, gross of its fee
    fee: Decimal
    quantity_before: Decimal
    quantity_after: Decimal


def apply_fill(position: Position, fill: Fill) -> tuple[Position, PositionChange]:
    """Net a fill into a position at average cost; return the new position and what happened."""
    if fill.symbol != position.symbol:
        raise ValueError(f"fill for {fill.symbol} applied to a {position.symbol} position")
    before = position.quantity
    delta = fill.signed_quantity
    after = before + delta
    if before == 0 or (before > 0) == (delta > 0):
        kind = PositionChangeKind.OPENED if before == 0 else PositionChangeKind.ADDED
        entry = (position.average_entry * abs(before) + fill.price * fill.quantity) / abs(after)
        realized = ZERO
    else:
        closed = min(abs(before), fill.quantity)
        direction = 1 if before > 0 else -1
        realized = (fill.price - position.average_entry) * closed * direction
        if after == 0:
            kind, entry = PositionChangeKind.CLOSED, ZERO
        elif (after > 0) == (before > 0):
            kind, entry = PositionChangeKind.REDUCED, position.average_entry
        else:
            kind, entry = PositionChangeKind.FLIPPED, fill.price  # the remainder opens at the fill price
    new_position = Position(
        symbol=position.symbol,
        quantity=after,
        average_entry=entry,
        realized_pnl=position.realized_pnl + realized,
        fees=position.fees + fill.fee,
    )
    return new_position, PositionChange(kind, realized, fill.fee, before, after)
