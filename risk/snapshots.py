"""Risk snapshots per sub-account: what the engine computed, as plain JSON in Redis for fast reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from risk.domain.margin import AccountMargin
from risk.domain.monitors import VarEstimate, concentration

ZERO = Decimal(0)

SNAPSHOT_TTL_S = 30


def snapshot_key(sub_account_id: int) -> str:
    return f"pms:risk:snapshot:{sub_account_id}"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def snapshot_data(sub_account_id: int, margin: AccountMargin, *, state: str, at_ms: int,
                  extra: dict[str, Any] | None = None,
                  booked: Mapping[str, tuple[Decimal, Decimal]] | None = None) -> dict[str, Any]:
    """A sub-account's margin figures as strings (Decimal never crosses a process boundary as float); with
    `booked` (symbol -> realized PnL, fees), each position carries them too and the snapshot says so."""
    totals = booked if booked is not None else {}
    return {
        "sub_account_id": sub_account_id, "state": state, "at_ms": at_ms,
        "wallet_balance": str(margin.wallet_balance), "unrealized_pnl": str(margin.unrealized_pnl),
        "margin_balance": str(margin.margin_balance), "initial_margin": str(margin.initial_margin),
        "maint_margin": str(margin.maint_margin), "margin_ratio": str(margin.margin_ratio),
        "available_balance": str(margin.available_balance), "total_notional": str(margin.total_notional),
        "positions": [{
            "symbol": p.symbol, "quantity": str(p.quantity), "entry_price": str(p.entry_price),
            "mark_price": str(p.mark_price), "notional": str(p.notional), "unrealized_pnl": str(p.unrealized_pnl),
            "leverage": p.leverage, "initial_margin": str(p.initial_margin), "maint_margin": str(p.maint_margin),
            "liquidation_price": _text(p.liquidation_price),
            **({"realized_pnl": str(totals.get(p.symbol, (ZERO, ZERO))[0]),
                "fees": str(totals.get(p.symbol, (ZERO, ZERO))[1])} if booked is not None else {}),
        } for p in margin.positions],
        "booked": booked is not None,
        **(extra or {}),
    }


def snapshot_encode(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


def monitor_fields(margin: AccountMargin, *, peak: Decimal, day_open: Decimal,
                   var: VarEstimate | None) -> dict[str, Any]:
    """Drawdown, concentration and VaR for a snapshot (the engine's and the database fallback's alike)."""
    focus = concentration({p.symbol: p.notional for p in margin.positions}, margin.margin_balance)
    drawdown = ZERO if peak <= 0 else max(ZERO, (peak - margin.margin_balance) / peak * 100)
    return {"drawdown_pct": str(drawdown), "equity_peak": str(peak), "day_open_equity": str(day_open),
            "largest_symbol": focus.symbol, "largest_share_of_gross": str(focus.share_of_gross),
            "largest_share_of_equity": str(focus.share_of_equity),
            "var_1d": str(var.value) if var is not None else None,
            "var_confidence": str(var.confidence) if var is not None else None,
            "var_days": var.observations if var is not None else 0}
