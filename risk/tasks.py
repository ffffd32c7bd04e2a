"""Celery tasks of the risk app: thin, named, each calling one service; no results kept."""

from __future__ import annotations

from celery import shared_task

from risk.services_snapshot import risk_snapshots_refresh


@shared_task(name="risk.refresh_snapshots", ignore_result=True)
def refresh_snapshots() -> None:
    risk_snapshots_refresh()
