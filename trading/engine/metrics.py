"""Prometheus metrics of the trading path (served on /metrics by each process that has them)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram


@dataclass(frozen=True)
class TradingMetrics:
    orders_sent: Counter
    orders_rejected: Counter
    orders_ambiguous: Counter
    fills_booked: Counter
    fills_duplicate: Counter
    order_roundtrip_ms: Histogram
    command_queue_lag_ms: Histogram
    budget_tokens: Gauge
    stream_reconnects: Counter
    external_fills: Counter


METRICS = TradingMetrics(
    orders_sent=Counter("pms_orders_sent_total", "Order requests sent to the venue"),
    orders_rejected=Counter("pms_orders_rejected_total", "Orders refused by PMS checks or the venue"),
    orders_ambiguous=Counter("pms_orders_ambiguous_total", "Order requests with an unknown outcome"),
    fills_booked=Counter("pms_fills_booked_total", "Fills booked to a sub-account"),
    fills_duplicate=Counter("pms_fills_duplicate_total", "Fill reports skipped as already booked"),
    order_roundtrip_ms=Histogram("pms_order_roundtrip_ms", "Place request to venue answer, ms",
                                 buckets=(1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 5000)),
    command_queue_lag_ms=Histogram("pms_command_queue_lag_ms", "Command created to picked up by the engine, ms",
                                   buckets=(5, 10, 25, 50, 100, 250, 500, 1000, 5000)),
    budget_tokens=Gauge("pms_budget_tokens", "Order budget left in the current window"),
    stream_reconnects=Counter("pms_stream_reconnects_total", "User-data stream reconnects"),
    external_fills=Counter("pms_external_fills_total", "Fills of orders nobody here placed, booked to the house"),
)
