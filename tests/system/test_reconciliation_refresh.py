"""A sweep that changes PostgreSQL reaches the running engine's books; a gap recovery spends the sweeps' debounce.

Real processes (simexchange, the engine with its risk engine), PostgreSQL and Redis; the sweep itself runs in the
test process against the same exchange account, as a Celery worker would run it.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal

import pytest
import redis

from core.clock import SYSTEM_CLOCK
from risk.snapshots import snapshot_key
from trading.models import Fill, ReconciliationLog, VirtualPosition
from trading.reconciliation.config import ReconConfig
from trading.reconciliation.guard import debounce_key
from trading.reconciliation.runs import sweep_run
from trading.venues.budget import RequestBudget
from trading.venues.ccxt_client import VenueConfig
from trading.venues.ccxt_venue import CcxtVenue

from .harness import API_KEY, SECRET, System, wait_until

D = Decimal
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
KIND = ReconciliationLog.Kind
AT_ONCE = ReconConfig(debounce_ms=0, activity_ms=0, in_flight_tolerance_ms=0, missing_order_misses=1)


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


def sweep(system: System, kind: str, config: ReconConfig = AT_ONCE) -> ReconciliationLog:
    def venue() -> CcxtVenue:
        config = VenueConfig(account=system.account, api_key=API_KEY, secret=SECRET, base_url=system.sim_url,
                             timeout_ms=5_000, read_backoff_ms=20, read_backoff_cap_ms=100)
        return CcxtVenue(config, clock=SYSTEM_CLOCK, budget=RequestBudget(account=system.account, clock=SYSTEM_CLOCK))

    return sweep_run(kind=kind, account=system.account, venue_factory=venue, config=config)


def risk_position(client: redis.Redis, sub_account_id: int, symbol: str = "BTCUSDT") -> Decimal:
    raw = client.get(snapshot_key(sub_account_id))
    positions = json.loads(raw)["positions"] if raw else []
    return sum((D(p["quantity"]) for p in positions if p["symbol"] == symbol), D(0))


def test_a_fill_booked_by_a_sweep_reaches_the_engine_and_its_risk_engine_without_a_restart(system: System, desk):
    alpha = desk["alpha"]
    system.fault(kind="ud_drop")  # the engine hears nothing of what follows
    placed = system.command("place_order", sub_account="alpha", symbol="BTCUSDT", side="buy", quantity="0.010",
                            price="59990.0")
    assert placed.status == "done", placed.error
    system.quote("BTCUSDT", "59980.0", "59980.1")  # the resting buy fills on the exchange
    wait_until(lambda: system.exchange_position("BTCUSDT") == D("0.010"), what="the exchange fill")
    before = system.command("place_order", sub_account="alpha", symbol="BTCUSDT", side="sell", quantity="0.010",
                            reduce_only=True)
    assert before.status == "failed" and "nothing to reduce" in before.error  # the engine's view: still flat

    log = sweep(system, KIND.ORDER_SYNC)
    fill = Fill.objects.get(client_order_id=placed.result["client_order_id"])
    assert any(a.get("action") == "fill_booked" for a in log.actions) and not fill.is_synthetic
    assert VirtualPosition.objects.get(sub_account=alpha, symbol="BTCUSDT").quantity == D("0.010")
    client = redis_client()
    try:
        wait_until(lambda: risk_position(client, alpha.pk) == D("0.010"), timeout_s=10,
                   what="the risk engine's snapshot to hold the reconciled fill:\n" + system.engine_log())
    finally:
        client.close()
    system.control("/_sim/faults", method="DELETE")
    close = system.command("place_order", sub_account="alpha", symbol="BTCUSDT", side="sell", quantity="0.010",
                           reduce_only=True)
    assert close.status == "done", close.error
    wait_until(lambda: system.exchange_position("BTCUSDT") == D("0"), what="the close to fill")
    wait_until(lambda: VirtualPosition.objects.get(sub_account=alpha, symbol="BTCUSDT").quantity == 0,
               what="the close booked")
    assert "positions reloaded after a reconciliation" in system.engine_log()


def test_a_gap_recovery_after_a_stream_reconnect_makes_the_next_sweep_skip(system: System, desk):
    client = redis_client()
    keys = [debounce_key(system.account, kind) for kind in (KIND.POSITION_SYNC, KIND.ORDER_SYNC)]
    try:
        client.delete(*keys)
        system.fault(kind="ws_disconnect", path="/private")
        wait_until(lambda: all(client.exists(key) for key in keys), timeout_s=20,
                   what="the gap recovery to mark the sweeps' debounce:\n" + system.engine_log())
        assert 0 < client.pttl(keys[0]) <= 30_000  # the engine's window (PMS_RECON_DEBOUNCE_S, 30 s by default)
        # the engine ran the same position and order syncs the beat runs, at once, before marking their debounce
        ran = set(ReconciliationLog.objects.values_list("kind", flat=True))
        assert {KIND.POSITION_SYNC, KIND.ORDER_SYNC} <= ran, system.engine_log()
        assert "position_sync after the stream gap: matched" in system.engine_log()
        skipped = sweep(system, KIND.POSITION_SYNC, ReconConfig(debounce_ms=30_000))
        assert (skipped.outcome, skipped.compared) == ("skipped", {"skipped": "debounced"})
        client.delete(*keys)
        assert sweep(system, KIND.POSITION_SYNC, ReconConfig(debounce_ms=30_000)).outcome == "matched"
    finally:
        client.delete(*keys)
        client.close()
