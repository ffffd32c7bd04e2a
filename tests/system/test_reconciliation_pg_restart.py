"""RELIABILITY #8: PostgreSQL restarted mid-run, on a throwaway cluster of our own (never the shared server).

simexchange and the engine run against it; PostgreSQL stops while an order fills on the exchange and while an
order is asked for, then comes back: processes reconnect, no order left without a committed row, the fill made
during the outage is booked by the engine's gap reconciliation, and one sweep leaves Σ virtual = exchange.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from .harness import REPO, System, free_port, wait_until

D = Decimal
PG_BIN = Path("/usr/lib/postgresql/15/bin")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120),
              pytest.mark.skipif(not (PG_BIN / "initdb").exists(), reason=f"no PostgreSQL binaries in {PG_BIN}")]

SEED = """
from decimal import Decimal as D
from trading.models import Instrument, SubAccount
from trading.services import subaccount_deposit, subaccount_house
Instrument.objects.create(symbol="BTCUSDT", base_asset="BTC", tick_size=D("0.10"), step_size=D("0.001"),
                          min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("100"))
subaccount_house()
for name in ("alpha", "beta"):
    subaccount_deposit(sub_account_id=SubAccount.objects.create(name=name).pk, amount=D("100000"), actor="test")
"""
COMMAND = """
import json, os, time
from trading.models import EngineCommand
from trading.services.commands import command_submit
payload = json.loads(os.environ["PMS_TEST_PAYLOAD"])
submitted = command_submit(kind="place_order", payload=payload, actor="pg-restart-test")
deadline = time.monotonic() + 20
while (row := EngineCommand.objects.get(pk=submitted.pk)).status not in ("done", "failed"):
    if time.monotonic() > deadline:
        break
    time.sleep(0.05)
print(json.dumps({"status": row.status, "result": row.result, "error": row.error}))
"""
SWEEP = """
import json
from trading.reconciliation.runs import sweep_run
from trading.reconciliation.config import ReconConfig
log = sweep_run(kind="position_sync", debounce=False,
                config=ReconConfig(debounce_ms=0, activity_ms=0, in_flight_tolerance_ms=0))
print(json.dumps({"outcome": log.outcome, "actions": log.actions, "error": log.error}))
"""


@dataclass
class Cluster:
    """A private PostgreSQL 15 on a free loopback port, data in a temp dir, run as the postgres user."""

    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/pms"

    def _pg(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        data = self.root / "data"
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(data, "postgres")
        self._pg("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        self.start()
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE pms")

    def start(self) -> None:
        data = self.root / "data"
        self._pg("pg_ctl", "-D", str(data), "-l", str(data / "server.log"), "-w", "-o",
                 f"-p {self.port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, connect_timeout=3) as conn:
            return list(conn.execute(sql, params).fetchall())


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="pms-pg-"))
    root.chmod(0o755)
    running = Cluster(root, free_port())
    try:
        running.init()
        yield running
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            running.stop()
        shutil.rmtree(root, ignore_errors=True)


def django(env: dict[str, str], code: str, payload: dict[str, Any] | None = None,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**env, "PMS_TEST_PAYLOAD": json.dumps(payload or {})}
    return subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=60, check=check)


def place(env: dict[str, str], **payload: Any) -> dict[str, Any]:
    done = django(env, COMMAND, payload)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def heartbeat(client: redis.Redis) -> dict[str, Any]:
    return dict(json.loads(client.get("pms:engine:heartbeat") or b"{}"))


def test_postgresql_restarted_mid_run(cluster: Cluster, tmp_path: Path):
    system = System(tmp_path)
    base_env = system.engine_env

    def env_on_cluster() -> dict[str, str]:
        env = base_env()
        env["DATABASE_URL"] = cluster.url
        return env

    system.engine_env = env_on_cluster  # type: ignore[method-assign]
    env = system.engine_env()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True, timeout=120)
    django(env, SEED)
    beat = redis.Redis.from_url(env.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    try:
        system.start_simexchange(symbols="BTCUSDT")
        system.quote("BTCUSDT", "60000.0", "60000.1")
        engine = system.start_engine()
        resting = place(env, sub_account="alpha", symbol="BTCUSDT", side="buy", quantity="0.010", price="59990.0")
        assert resting["status"] == "done", resting

        cluster.stop()
        system.quote("BTCUSDT", "59980.0", "59980.1")  # the resting buy fills while nothing can be written
        wait_until(lambda: system.exchange_position("BTCUSDT") == D("0.010"), what="the fill on the exchange")
        wait_until(lambda: heartbeat(beat).get("status") == "paused", timeout_s=15,
                   what="the engine to fail closed:\n" + system.engine_log())
        during = django(env, COMMAND, {"sub_account": "beta", "symbol": "BTCUSDT", "side": "buy",
                                       "quantity": "0.010"}, check=False)
        assert during.returncode != 0 and "OperationalError" in during.stderr  # refused: no row, so no order
        exchange_orders_during = {o["clientOrderId"] for o in system.exchange_orders("BTCUSDT")}
        assert exchange_orders_during == {resting["result"]["client_order_id"]}

        restarted_at = datetime.now(UTC)
        cluster.start()
        wait_until(lambda: heartbeat(beat).get("status") == "running", timeout_s=40,
                   what="the engine to reconnect and resume:\n" + system.engine_log())
        fills = wait_until(lambda: cluster.query("SELECT trade_key, is_synthetic, booked_at FROM trading_fill"),
                           timeout_s=20, what="the outage's fill booked by the gap reconciliation")
        assert len(fills) == 1 and fills[0][1] is False and fills[0][2] >= restarted_at  # booked after the restart
        log = (tmp_path / "engine.log").read_text(errors="replace")
        assert "task user-stream failed" in log  # its event was lost with the failed batch: recovery booked it
        assert log.count("engine ready") == 1  # listeners reconnected without running start-up (algos, risk) twice
        after = place(env, sub_account="beta", symbol="BTCUSDT", side="buy", quantity="0.010")
        assert after["status"] == "done", after  # commands flow again
        wait_until(lambda: system.exchange_position("BTCUSDT") == D("0.020"), what="the new order's fill")

        sweep_run = django(system.engine_env(), SWEEP)  # now with the exchange URL
        swept = json.loads(sweep_run.stdout.strip().splitlines()[-1])
        assert swept["outcome"] in ("matched", "acted", "tolerated"), (swept, sweep_run.stderr[-3000:])
        virtual = cluster.query("SELECT COALESCE(SUM(quantity), 0) FROM trading_virtualposition WHERE symbol = %s",
                                "BTCUSDT")[0][0]
        assert virtual == system.exchange_position("BTCUSDT") == D("0.020")
        rows = {cid for (cid,) in cluster.query("SELECT client_order_id FROM trading_order")}
        on_exchange = {o["clientOrderId"] for o in system.exchange_orders("BTCUSDT")}
        assert on_exchange <= rows and len(on_exchange) == 2  # no order ever left without its committed row
        assert not cluster.query("SELECT 1 FROM trading_fill WHERE is_synthetic")
        assert engine.poll() is None, "the engine died:\n" + system.engine_log()
    finally:
        system.stop()
        beat.close()
