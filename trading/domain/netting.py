"""Netting-aware exchange orders: many sub-accounts share one one-way exchange position (RELIABILITY #12)."""

from __future__ import annotations

from decimal import Decimal

from .types import Side


def reduce_only_reason(*, sub_position: Decimal, side: Side, quantity: Decimal) -> str | None:
    """Why a sub-account's reduce-only order cannot be honoured, or None."""
    if sub_position == 0 or (sub_position > 0) == (side is Side.BUY):
        return f"reduce-only {side.value} has nothing to reduce: the sub-account's position is {sub_position}"
    if quantity > abs(sub_position):
        return f"reduce-only quantity {quantity} exceeds the sub-account's position {abs(sub_position)}"
    return None


def exchange_reduce_only(*, net_position: Decimal, side: Side, quantity: Decimal) -> bool:
    """Send reduceOnly only when the order also reduces the exchange's net position, or Binance answers -2022.

    Sub-account A long 1 and B short 1 leave the exchange flat: B's closing buy raises the net, so it
    must go out as a plain order even though it reduces B.
    """
    reduces_net = net_position != 0 and (net_position > 0) == (side is Side.SELL)
    return reduces_net and quantity <= abs(net_position)
