"""Reconciliation under faults with real Celery processes: RELIABILITY #4 (stream gap), #7 (Redis down),
#10 (two beats: one effect)."""

from __future__ import annotations

import json
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from trading.models import Fill, Order, ReconciliationLog

from .harness import System, celery_log, sim_account_id, start_celery, start_redis, virtual_net, wait_until

D = Decimal
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def manual_trade(system: System, side: str, quantity: str, client_order_id: str) -> None:
    system.control("/_sim/trade", {"account_id": sim_account_id(system), "symbol": "BTCUSDT", "side": side,
                                   "quantity": quantity, "client_order_id": client_order_id})


def test_two_beats_and_two_workers_have_one_effect(system: System, desk):
    """RELIABILITY #10: both beats fire every sweep; the lock and the debounce let one of each act."""
    timing = {"PMS_RECON_DEBOUNCE_S": "1.9"}
    for name in ("worker-a", "worker-b"):
        start_celery(system, "worker", name, timing)
    for name in ("beat-a", "beat-b"):
        start_celery(system, "beat", name, timing)
    system.fault(kind="ud_drop")
    manual_trade(system, "BUY", "0.030", "desk-head-manual-1")
    wait_until(lambda: Fill.objects.filter(client_order_id="desk-head-manual-1").exists(), timeout_s=20,
               what="the manual trade booked:\n" + celery_log(system, "worker-a"))
    def booking_runs() -> list[ReconciliationLog]:  # the log row is written when its sweep ends
        return [log for log in ReconciliationLog.objects.filter(outcome="acted")
                if any(a.get("action") == "fill_booked" for a in log.actions)]

    wait_until(booking_runs, timeout_s=10, what="the booking sweep's log")
    wait_until(lambda: ReconciliationLog.objects.filter(outcome="skipped").count() >= 3, timeout_s=20,
               what="the second beat's sweeps skipped")
    assert Fill.objects.filter(client_order_id="desk-head-manual-1").count() == 1
    assert not Fill.objects.filter(is_synthetic=True).exists()
    assert virtual_net() == system.exchange_position("BTCUSDT") == D("0.030")
    assert len(booking_runs()) == 1  # one sweep booked it; every other one found nothing left to do


def test_fills_during_a_stream_gap_are_booked_and_no_order_leaves_during_it(system: System, desk):
    """RELIABILITY #4: the stream is lost and cannot come back for a while; a resting order fills meanwhile."""
    start_celery(system, "worker", "worker")
    start_celery(system, "beat", "beat")
    placed = system.command("place_order", sub_account="alpha", symbol="BTCUSDT", side="buy", quantity="0.010",
                            price="59990.0")
    client_order_id = placed.result["client_order_id"]
    system.fault(kind="error_before", path="/fapi/v1/listenKey", method="POST", status=503)  # no new stream
    system.fault(kind="ws_disconnect", path="/private")
    heartbeat = redis.Redis.from_url(system.engine_env().get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    wait_until(lambda: "stream" in (json.loads(heartbeat.get("pms:engine:heartbeat") or b"{}")
                                    .get("paused_reason") or ""), timeout_s=15, what="the engine to pause")
    system.quote("BTCUSDT", "59980.0", "59980.1")  # the resting buy fills during the gap
    during = system.command("place_order", sub_account="beta", symbol="BTCUSDT", side="buy", quantity="0.010")
    assert during.status == "failed" and "paused" in during.error
    fill = wait_until(lambda: Fill.objects.filter(client_order_id=client_order_id).first(), timeout_s=20,
                      what="the gap's fill booked by a sweep")
    assert not fill.is_synthetic
    system.control("/_sim/faults", method="DELETE")
    wait_until(lambda: json.loads(heartbeat.get("pms:engine:heartbeat") or b"{}").get("status") == "running",
               timeout_s=45, what="the engine to reconnect and resume")
    heartbeat.close()
    assert Order.objects.get(client_order_id=client_order_id).status == "filled"
    assert [o["clientOrderId"] for o in system.exchange_orders("BTCUSDT")] == [client_order_id]
    assert Fill.objects.count() == 1 and virtual_net() == system.exchange_position("BTCUSDT") == D("0.010")


def test_redis_stopped_mid_run_then_restarted(desk, tmp_path: Path, settings):
    """RELIABILITY #7: fills keep being booked through PostgreSQL; nothing crash-loops; sweeps resume."""
    redis_process, port = start_redis(tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    system = System(tmp_path)
    restarted: list[subprocess.Popen[bytes]] = []
    try:
        system.start_simexchange()
        system.quote("BTCUSDT", "60000.0", "60000.1")
        system.quote("ETHUSDT", "3000.00", "3000.01")
        base_env = system.engine_env

        def env_on_own_redis() -> dict[str, str]:
            env = base_env()
            env["REDIS_URL"] = url
            return env

        system.engine_env = env_on_own_redis  # type: ignore[method-assign]
        engine = system.start_engine()
        worker, beat = start_celery(system, "worker", "worker"), start_celery(system, "beat", "beat")
        wait_until(lambda: ReconciliationLog.objects.filter(kind="position_sync").exists(), timeout_s=20,
                   what="a first sweep:\n" + celery_log(system, "worker"))
        redis_process.send_signal(signal.SIGTERM)
        redis_process.wait(timeout=10)
        placed = system.command("place_order", sub_account="alpha", symbol="BTCUSDT", side="buy", quantity="0.010")
        assert placed.status == "done", placed.error
        wait_until(lambda: Fill.objects.filter(client_order_id=placed.result["client_order_id"]).exists(),
                   timeout_s=20, what="the fill booked while Redis is down:\n" + system.engine_log())
        outage_end = ReconciliationLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
        redis_process, _ = start_redis(tmp_path, port)
        restarted.append(redis_process)
        wait_until(lambda: ReconciliationLog.objects.filter(id__gt=outage_end, kind="position_sync",
                                                            outcome="matched").exists(),
                   timeout_s=45, what="sweeps to resume after Redis returned:\n" + celery_log(system, "worker"))
        assert all(process.poll() is None for process in (engine, worker, beat)), "a process died"
        assert virtual_net() == system.exchange_position("BTCUSDT") == D("0.010")
    finally:
        system.stop()
        for process in [redis_process, *restarted]:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
