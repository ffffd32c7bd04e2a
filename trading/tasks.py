"""Celery tasks: thin, named, each calling one service."""

from __future__ import annotations

from celery import shared_task

from trading.services.health import engine_health_check


@shared_task(name="trading.check_engine_heartbeat", ignore_result=True)
def check_engine_heartbeat() -> None:
    engine_health_check()
