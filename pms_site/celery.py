"""The Celery app and the whole beat schedule, in code (one beat process runs it)."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")

app = Celery("pms_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

ENGINE_HEARTBEAT_CHECK_S = 10.0

# Every entry expires within its interval: a beat that fell behind never piles up stale runs.
app.conf.beat_schedule = {
    "engine-heartbeat-check": {
        "task": "trading.check_engine_heartbeat",
        "schedule": schedule(ENGINE_HEARTBEAT_CHECK_S),
        "options": {"expires": ENGINE_HEARTBEAT_CHECK_S},
    },
}
