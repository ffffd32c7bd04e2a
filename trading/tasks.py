"""Celery tasks: thin, named, each calling one service; they pass ids and keep no results."""

from __future__ import annotations

from celery import shared_task

from trading.models import ReconciliationLog
from trading.reconciliation.runs import sweep_run
from trading.reconciliation.stream_health import user_stream_health_check
from trading.services.health import engine_health_check


@shared_task(name="trading.check_engine_heartbeat", ignore_result=True)
def check_engine_heartbeat() -> None:
    engine_health_check()


@shared_task(name="trading.check_user_stream", ignore_result=True)
def check_user_stream() -> None:
    user_stream_health_check()


@shared_task(name="trading.reconcile_positions", ignore_result=True)
def reconcile_positions(account: str | None = None) -> None:
    sweep_run(kind=ReconciliationLog.Kind.POSITION_SYNC, account=account)


@shared_task(name="trading.reconcile_orders", ignore_result=True)
def reconcile_orders(account: str | None = None) -> None:
    sweep_run(kind=ReconciliationLog.Kind.ORDER_SYNC, account=account)


@shared_task(name="trading.sweep_orphan_positions", ignore_result=True)
def sweep_orphan_positions(account: str | None = None) -> None:
    sweep_run(kind=ReconciliationLog.Kind.ORPHAN_SWEEP, account=account)
