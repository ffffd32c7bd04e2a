"""Orphan virtual positions closed at mark; one sweep per account at a time; the debounce; the schedule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import redis
from django.db import connections

from core.clock import SYSTEM_CLOCK
from trading.domain.records import FillReport
from trading.domain.types import Side
from trading.models import Fill, ReconciliationLog, VirtualPosition
from trading.reconciliation.config import ReconConfig
from trading.reconciliation.guard import LOCK_NAMESPACE
from trading.services.fills import fill_book

D = Decimal
ORPHANS = ReconciliationLog.Kind.ORPHAN_SWEEP


def book(sub, key: str, side: Side, quantity: str, price: str = "60000") -> None:
    fill_book(report=FillReport(key, sub.pk, "BTCUSDT", side, D(price), D(quantity),
                                SYSTEM_CLOCK.now() - timedelta(minutes=5)))


def held(sub) -> Decimal:
    return VirtualPosition.objects.get(sub_account=sub, symbol="BTCUSDT").quantity


def test_a_virtual_position_the_exchange_does_not_hold_is_closed_at_the_mark(desk, exchange, sweep, events):
    book(desk["alpha"], "GONE:1", Side.BUY, "0.010", "59000")
    log = sweep(ORPHANS)
    close = Fill.objects.get(is_synthetic=True)
    assert (close.sub_account, close.side, close.quantity) == (desk["alpha"], "sell", D("0.010"))
    assert D("60000.0") <= close.price <= D("60000.1") and close.trade_key.startswith("ORP:BTCUSDT:")
    position = VirtualPosition.objects.get(sub_account=desk["alpha"])
    assert position.quantity == 0 and position.realized_pnl == (close.price - D("59000")) * D("0.010")
    assert log.actions[0]["action"] == "orphan_closed"
    assert events.of("risk_alert", kind="orphan_position", sub_account_id=desk["alpha"].pk)
    assert sweep(ORPHANS).actions == [] and Fill.objects.filter(is_synthetic=True).count() == 1


def test_positions_that_net_out_are_not_orphans_only_the_excess_is_closed(desk, exchange, sweep):
    book(desk["alpha"], "N:1", Side.BUY, "0.010")
    book(desk["beta"], "N:2", Side.SELL, "0.004")
    sweep(ORPHANS)
    assert (held(desk["alpha"]), held(desk["beta"])) == (D("0.004"), D("-0.004"))


def test_a_sweep_already_running_for_the_account_makes_a_second_one_skip(desk, exchange, sweep):
    other = connections.create_connection("default")  # another worker's session
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext(%s), hashtext(%s))", [LOCK_NAMESPACE, exchange.name])
        book(desk["alpha"], "L:1", Side.BUY, "0.010")
        log = sweep(ORPHANS)
        assert (log.outcome, log.compared) == ("skipped", {"skipped": "locked"})
        assert not Fill.objects.filter(is_synthetic=True).exists()
    finally:  # unlock before closing: the server ends a closed session (and frees its locks) a moment later
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s), hashtext(%s))", [LOCK_NAMESPACE, exchange.name])
        other.close()
    assert sweep(ORPHANS).outcome == "acted"


def test_the_same_sweep_within_the_debounce_window_runs_once(desk, exchange, sweep, settings):
    client = redis.Redis.from_url(settings.REDIS_URL)
    config = ReconConfig(debounce_ms=60_000, activity_ms=0, in_flight_tolerance_ms=0)
    try:
        first, second = sweep(ORPHANS, config=config, redis=client), sweep(ORPHANS, config=config, redis=client)
        other_kind = sweep(ReconciliationLog.Kind.POSITION_SYNC, config=config, redis=client)
        assert (first.outcome, second.outcome, other_kind.outcome) == ("matched", "skipped", "matched")
        assert second.compared == {"skipped": "debounced"}
    finally:
        client.delete(*client.keys(f"pms:recon:{exchange.name}:*"))
        client.close()


def test_with_redis_down_the_database_lock_alone_guards_and_the_sweep_runs(desk, exchange, sweep):
    nowhere = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    config = ReconConfig(debounce_ms=60_000, activity_ms=0, in_flight_tolerance_ms=0)
    book(desk["alpha"], "R:1", Side.BUY, "0.010")
    assert sweep(ORPHANS, config=config, redis=nowhere).outcome == "acted"


def test_every_beat_entry_expires_within_its_interval_and_names_a_registered_task():
    from celery import current_app as app  # pms_site's app, set up with Django (layers: no pms_site import)

    app.loader.import_default_modules()
    entries = app.conf.beat_schedule
    assert {"position-sync", "order-sync", "orphan-sweep", "user-stream-health-check",
            "risk-snapshot-refresh"} <= set(entries)
    for entry in entries.values():
        assert entry["task"] in app.tasks
        assert 0 < entry["options"]["expires"] <= entry["schedule"].run_every.total_seconds()
    assert entries["position-sync"]["schedule"].run_every.total_seconds() == 30
    assert entries["order-sync"]["schedule"].run_every.total_seconds() == 60
