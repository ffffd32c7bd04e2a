"""The Celery app and the whole beat schedule, in code (one beat process runs it)."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")

app = Celery("pms_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# No broadcast (pidbox) consumer: kombu's Redis pub/sub reader dies with "Unrecoverable error: AttributeError"
# when Redis goes away under it (RELIABILITY #7); the worker must ride out a Redis restart. `celery inspect`
# and remote control are given up for that.
app.conf.worker_enable_remote_control = False


def interval_s(name: str, default: float) -> float:
    """An interval from the environment (tests shorten them); refuses what a beat cannot run."""
    value = float(os.environ.get(name, default))
    if not 0.1 <= value <= 86_400:
        raise ValueError(f"{name} must be within 0.1 s and a day, got {value}")
    return value


ENGINE_HEARTBEAT_CHECK_S = interval_s("PMS_ENGINE_HEARTBEAT_CHECK_S", 10.0)
USER_STREAM_CHECK_S = interval_s("PMS_USER_STREAM_CHECK_S", 10.0)
POSITION_SYNC_S = interval_s("PMS_RECON_POSITION_SYNC_S", 30.0)
ORDER_SYNC_S = interval_s("PMS_RECON_ORDER_SYNC_S", 60.0)
ORPHAN_SWEEP_S = interval_s("PMS_RECON_ORPHAN_SWEEP_S", 60.0)
RISK_SNAPSHOT_REFRESH_S = interval_s("PMS_RISK_SNAPSHOT_REFRESH_S", 15.0)  # within the snapshots' 30 s TTL


def every(task: str, seconds: float) -> dict[str, object]:
    # Every entry expires within its interval: a beat that fell behind never piles up stale runs.
    return {"task": task, "schedule": schedule(seconds), "options": {"expires": seconds}}


app.conf.beat_schedule = {
    "engine-heartbeat-check": every("trading.check_engine_heartbeat", ENGINE_HEARTBEAT_CHECK_S),
    "user-stream-health-check": every("trading.check_user_stream", USER_STREAM_CHECK_S),
    "position-sync": every("trading.reconcile_positions", POSITION_SYNC_S),
    "order-sync": every("trading.reconcile_orders", ORDER_SYNC_S),
    "orphan-sweep": every("trading.sweep_orphan_positions", ORPHAN_SWEEP_S),
    "risk-snapshot-refresh": every("risk.refresh_snapshots", RISK_SNAPSHOT_REFRESH_S),
}
