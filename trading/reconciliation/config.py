"""Reconciliation tunables: Django settings when set there, else the environment, else the defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings


def _number(name: str, default: str) -> Decimal:
    raw = getattr(settings, name, None)
    value = Decimal(str(raw)) if raw is not None else Decimal(os.environ.get(name, default))
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class ReconConfig:
    debounce_ms: int = 30_000  # shared by every sweep of one kind on one account, beat or real-time
    activity_ms: int = 5_000  # an order touched this recently is left alone (the engine is on it)
    in_flight_tolerance_ms: int = 10_000  # a position difference explained by orders this young waits
    missing_order_misses: int = 2  # sweeps an open order must be absent before a targeted query
    trades_lookback_ms: int = 86_400_000  # how far back userTrades is read when no fill is booked yet
    trades_margin_ms: int = 5_000  # read trades from a little before the last fill we booked


def recon_config() -> ReconConfig:
    """PMS_RECON_DEBOUNCE_S (30), PMS_RECON_ACTIVITY_S (5), PMS_RECON_IN_FLIGHT_TOLERANCE_S (10),
    PMS_RECON_MISSING_ORDER_MISSES (2)."""
    return ReconConfig(
        debounce_ms=int(_number("PMS_RECON_DEBOUNCE_S", "30") * 1000),
        activity_ms=int(_number("PMS_RECON_ACTIVITY_S", "5") * 1000),
        in_flight_tolerance_ms=int(_number("PMS_RECON_IN_FLIGHT_TOLERANCE_S", "10") * 1000),
        missing_order_misses=max(1, int(_number("PMS_RECON_MISSING_ORDER_MISSES", "2"))),
    )
