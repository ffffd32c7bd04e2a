"""What the engine takes in after a sweep, the sweep's NOTIFY, the gap recovery's debounce mark, alerts logged."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

import psycopg
import redis
import redis.asyncio as aioredis
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection, transaction

from core.clock import SYSTEM_CLOCK
from trading.domain.records import FillBooked, FillReport
from trading.domain.types import Side
from trading.engine.order_manager import OrderManager
from trading.engine.routing import RecentKeys
from trading.models import ReconciliationLog
from trading.reconciliation.config import ReconConfig
from trading.reconciliation.guard import debounce_key, debounce_take, recovery_debounce_mark
from trading.reconciliation.notify import RECONCILED_CHANNEL, reconciled_notify, reconciled_payload
from trading.reconciliation.refresh import ReconciledRefresh
from trading.services.fills import fill_book

D = Decimal
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def report(sub, key: str, side: Side, quantity: str, price: str = "60000") -> FillReport:
    return FillReport(key, sub.pk, "BTCUSDT", side, D(price), D(quantity), SYSTEM_CLOCK.now() - timedelta(minutes=1),
                      fee=D("0.5"))


def engine_manager() -> OrderManager:
    return OrderManager(venue=cast(Any, None), journal=cast(Any, None))


def test_fills_booked_behind_the_engine_are_reloaded_and_told_once(desk):
    fill_book(report=report(desk["alpha"], "OLD:1", Side.BUY, "0.010"))  # known when the engine started
    manager, told = engine_manager(), cast(list[FillBooked], [])
    manager.positions.set(desk["alpha"].pk, "BTCUSDT", D("0.010"))
    refresh = ReconciledRefresh(manager=manager, seen=RecentKeys(), listeners=[told.append], database_url="")
    async_to_sync(refresh.start)()
    assert async_to_sync(refresh.refresh)() == []

    fill_book(report=report(desk["alpha"], "SWEEP:1", Side.SELL, "0.004", "61000"))  # a sweep's booking
    fill_book(report=report(desk["beta"], "SWEEP:2", Side.SELL, "0.002"))
    booked = async_to_sync(refresh.refresh)()

    assert manager.positions.of(desk["alpha"].pk, "BTCUSDT") == D("0.006")
    assert manager.positions.of(desk["beta"].pk, "BTCUSDT") == D("-0.002")
    assert manager.positions.net["BTCUSDT"] == D("0.004")
    assert [(f.sub_account_id, f.position.quantity) for f in told] == [(desk["alpha"].pk, D("0.006")),
                                                                     (desk["beta"].pk, D("-0.002"))]
    alpha_fill: FillBooked = booked[0]
    assert (alpha_fill.change.realized_pnl, alpha_fill.change.fee) == (D("4.000"), D("0.5"))
    assert (alpha_fill.change.quantity_before, alpha_fill.change.quantity_after) == (D("0.010"), D("0.006"))
    assert async_to_sync(refresh.refresh)() == [] and len(told) == 2  # told once


def test_a_reload_read_before_a_newer_engine_fill_does_not_undo_it(desk):
    manager = engine_manager()
    version = manager.positions.version
    manager.positions.set(desk["alpha"].pk, "BTCUSDT", D("0.020"))  # the engine booked a fill after the read
    reloaded = manager.positions_reload([(desk["alpha"].pk, "BTCUSDT", D("0.010")),
                                         (desk["beta"].pk, "BTCUSDT", D("-0.010"))], read_at_version=version)
    assert reloaded == [(desk["beta"].pk, "BTCUSDT")]
    assert manager.positions.of(desk["alpha"].pk, "BTCUSDT") == D("0.020")
    assert manager.positions.net["BTCUSDT"] == D("0.010")


def test_the_notify_reaches_a_listener_only_when_the_booking_commits(transactional_db, desk):
    params = connection.settings_dict
    url = f"postgresql://{params['USER'] or 'postgres'}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/" \
          f"{params['NAME']}"
    fill = report(desk["alpha"], "N:1", Side.BUY, "0.010")
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {RECONCILED_CHANNEL}")
        try:
            with transaction.atomic():
                reconciled_notify([fill])
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
        with transaction.atomic():
            reconciled_notify([fill])
        heard = list(listener.notifies(timeout=5, stop_after=1))
    assert [json.loads(n.payload) for n in heard] == [
        {"sub_account_ids": [desk["alpha"].pk], "symbols": ["BTCUSDT"], "trade_keys": ["N:1"]}]


def test_a_payload_too_large_for_notify_asks_for_a_full_reload(desk):
    many = [report(desk["alpha"], f"K:{i:06d}:{'x' * 40}", Side.BUY, "0.001") for i in range(400)]
    assert json.loads(reconciled_payload(many)) == {"all": True}


def test_a_gap_recovery_spends_the_sweeps_debounce_window():
    client = redis.Redis.from_url(settings.REDIS_URL)
    account = f"gap-{time.monotonic_ns()}"
    try:
        assert asyncio.run(recovery_debounce_mark(account=account, window_ms=5_000)) is True
        for kind in ("position_sync", "order_sync"):
            assert 0 < client.pttl(debounce_key(account, kind)) <= 5_000
            assert debounce_take(client, account=account, kind=kind, window_ms=5_000) is False
        assert debounce_take(client, account=account, kind="orphan_sweep", window_ms=5_000) is True
    finally:
        client.delete(*client.keys(f"pms:recon:{account}:*"))
        client.close()


def test_with_redis_down_the_gap_recovery_goes_on_and_sweeps_are_not_skipped():
    async def mark() -> bool:
        dead = aioredis.Redis.from_url(DEAD_REDIS, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return await recovery_debounce_mark(account="down", window_ms=5_000, client=dead)
        finally:
            await dead.aclose()

    started = time.monotonic()
    assert asyncio.run(mark()) is False and time.monotonic() - started < 3
    dead_sync = redis.Redis.from_url(DEAD_REDIS, socket_timeout=0.5, socket_connect_timeout=0.5)
    assert debounce_take(dead_sync, account="down", kind="position_sync", window_ms=5_000) is True


def test_the_log_row_keeps_what_was_alerted_and_the_admin_shows_it(desk, exchange, sweep, admin_client):
    exchange.trade("sell", "0.020")  # not ours: booked to the house with an alert
    log = sweep(ReconciliationLog.Kind.POSITION_SYNC, config=ReconConfig(debounce_ms=0, activity_ms=0,
                                                                         in_flight_tolerance_ms=0))
    assert [alert["kind"] for alert in log.alerts] == ["external_fill"]
    message = log.alerts[0]["message"]
    assert "was not placed by PMS" in message
    page = admin_client.get(f"/admin/trading/reconciliationlog/{log.pk}/change/")
    assert page.status_code == 200 and "was not placed by PMS" in page.content.decode()


def test_an_order_a_sweep_finished_behind_the_engine_leaves_the_live_set_and_its_owner_hears_once(desk):
    from trading.engine.journal_pg import journaled
    from trading.engine.order_manager import LiveOrder
    from trading.models import Order
    from trading.tests.api.test_reads import make_order

    manager, done = engine_manager(), cast(list[str], [])
    for n in (1, 2):
        row = make_order(desk["alpha"], n)
        manager.live[row.client_order_id] = LiveOrder(journaled(row), on_done=lambda o: done.append(o.client_order_id))
    refresh = ReconciledRefresh(manager=manager, seen=RecentKeys(), listeners=[], database_url="")
    async_to_sync(refresh.start)()
    gone = f"PMS{desk['alpha'].code}_LMT_1"
    Order.objects.filter(client_order_id=gone).update(status="canceled")  # the order sync resolved it

    async_to_sync(refresh.refresh)()
    async_to_sync(refresh.refresh)()

    assert list(manager.live) == [f"PMS{desk['alpha'].code}_LMT_2"]
    assert done == [gone] and refresh.orders_settled == 1
