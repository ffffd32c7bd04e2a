"""Reads of trading state."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from core.money import ZERO
from trading.domain.positions import Position
from trading.models import LedgerEntry, VirtualPosition


def subaccount_balance(*, sub_account_id: int, asset: str = "USDT") -> Decimal:
    """Wallet balance: the sum of the ledger (deposits, withdrawals, realized PnL, fees, funding)."""
    total = LedgerEntry.objects.filter(sub_account_id=sub_account_id, asset=asset).aggregate(total=Sum("amount"))
    return total["total"] or ZERO


def position_list(*, sub_account_id: int, include_flat: bool = False) -> list[Position]:
    rows = VirtualPosition.objects.filter(sub_account_id=sub_account_id)
    if not include_flat:
        rows = rows.exclude(quantity=0)
    return [row.to_domain() for row in rows]


def net_virtual_positions(*, symbol: str | None = None) -> dict[str, Decimal]:
    """Σ of every sub-account's signed quantity per symbol: what the exchange should hold."""
    rows = VirtualPosition.objects.all()
    if symbol is not None:
        rows = rows.filter(symbol=symbol)
    totals = rows.values("symbol").annotate(total=Sum("quantity"))
    return {row["symbol"]: row["total"] for row in totals}
