"""Real processes for system tests: simexchange and the engine as subprocesses, PostgreSQL and Redis real."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection

from trading.models import EngineCommand
from trading.services.commands import command_submit

REPO = Path(__file__).resolve().parents[2]
API_KEY, SECRET = "system-test-key", "system-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_url() -> str:
    """The URL of the database pytest-django created, for the subprocesses."""
    params = connection.settings_dict
    user, name = params["USER"] or "postgres", params["NAME"]
    socket_dir = (params.get("OPTIONS") or {}).get("host")
    if socket_dir:
        return f"postgresql://{user}@/{name}?host={socket_dir}"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    return f"postgresql://{user}{password}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{name}"


def wait_until(predicate: Callable[[], Any], timeout_s: float = 15, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


@dataclass
class System:
    workdir: Path
    sim_url: str = ""
    metrics_port: int = 0
    account: str = field(default_factory=lambda: f"systest-{uuid.uuid4().hex[:8]}")
    redis_prefix: str = field(default_factory=lambda: f"systest-{uuid.uuid4().hex[:8]}")  # market data keys
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    # -- processes -----------------------------------------------------------------------------------
    def start_simexchange(self, symbols: str = "BTCUSDT,ETHUSDT") -> None:
        log = (self.workdir / "sim.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "simexchange", "--port", "0", "--symbols", symbols, "--source", "synthetic",
             "--api-key", API_KEY, "--secret", SECRET, "--balance", "1000000"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=log)
        self.processes.append(process)
        assert process.stdout is not None
        config = json.loads(process.stdout.readline())
        self.sim_url = config["urls"]["api"]["fapiPublic"].rsplit("/fapi", 1)[0]
        self.control("/_sim/feed", {"paused": True})  # prices move only when a test says so

    def engine_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"DATABASE_URL": test_database_url(), "PMS_SIMEXCHANGE_URL": self.sim_url,
                    "PMS_EXCHANGE_API_KEY": API_KEY, "PMS_EXCHANGE_API_SECRET": SECRET, "PMS_VENUE": "simulated",
                    "PMS_EXCHANGE_ACCOUNT": self.account, "PMS_LOG_FORMAT": "plain", "PMS_LOG_LEVEL": "INFO",
                    "PMS_REDIS_PREFIX": self.redis_prefix, "PMS_ENGINE_ID": f"engine-{self.account}"})
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop("PMS_CRASH_AT", None)
        return env

    def start_feed(self) -> subprocess.Popen[bytes]:
        """The market-data feed worker, on this system's own Redis prefix."""
        log = (self.workdir / "feed.log").open("ab")
        process = subprocess.Popen([sys.executable, "manage.py", "run_feed"], cwd=REPO, env=self.engine_env(),
                                   stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start_engine(self, **extra_env: str) -> subprocess.Popen[bytes]:
        """`extra_env`, e.g. PMS_CRASH_AT="replace.cancel_acked", arms a crash point (core/faultpoints.py)."""
        self.metrics_port = free_port()
        log_path = self.workdir / "engine.log"
        log = log_path.open("ab")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_engine", "--metrics-port", str(self.metrics_port)],
            cwd=REPO, env={**self.engine_env(), **extra_env}, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        start = log_path.stat().st_size if log_path.exists() else 0
        wait_until(lambda: b"engine ready" in log_path.read_bytes()[start:] or process.poll() is not None,
                   timeout_s=30, what="the engine to finish recovery")
        assert process.poll() is None, self.engine_log()
        return process

    def engine_log(self) -> str:
        path = self.workdir / "engine.log"
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    # -- the exchange --------------------------------------------------------------------------------
    def control(self, path: str, body: dict[str, Any] | None = None, method: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.sim_url + path, data=data, method=method or ("POST" if data else "GET"),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def quote(self, symbol: str, bid: str, ask: str, qty: str = "50") -> None:
        self.control("/_sim/market", {"type": "bookTicker", "symbol": symbol, "bid": bid, "ask": ask,
                                      "bid_qty": qty, "ask_qty": qty})
        mid = str((float(bid) + float(ask)) / 2)  # the control API takes the mark as a string
        self.control("/_sim/market", {"type": "markPrice", "symbol": symbol, "mark": mid})

    def fault(self, **fields: Any) -> Any:
        return self.control("/_sim/faults", fields)

    def signed(self, path: str, **params: Any) -> Any:
        """A signed GET, as the account's owner would make it (the exchange's view, not ours)."""
        params["timestamp"] = int(time.time() * 1000)
        query = urllib.parse.urlencode(params)
        signature = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
        request = urllib.request.Request(f"{self.sim_url}{path}?{query}&signature={signature}",
                                         headers={"X-MBX-APIKEY": API_KEY})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def exchange_position(self, symbol: str) -> Decimal:
        rows = self.signed("/fapi/v3/positionRisk", symbol=symbol)
        return sum((Decimal(row["positionAmt"]) for row in rows), Decimal(0))

    def exchange_orders(self, symbol: str) -> list[dict[str, Any]]:
        return list(self.signed("/fapi/v1/allOrders", symbol=symbol))

    def metric(self, name: str) -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        return 0.0

    # -- commands ------------------------------------------------------------------------------------
    def command(self, kind: str, timeout_s: float = 15, **payload: Any) -> EngineCommand:
        submitted = command_submit(kind=kind, payload=payload, actor="system-test")
        return wait_until(lambda: EngineCommand.objects.filter(
            pk=submitted.pk, status__in=["done", "failed"]).first(), timeout_s, f"command {kind}")


# -- reconciliation (appended for the reconciliation tests) ------------------------------------------------
def signed_request(base_url: str, api_key: str, secret: str, path: str, method: str = "GET", **params: Any) -> Any:
    """A signed request to the simulated exchange as the owner of (api_key, secret)."""
    params["timestamp"] = int(time.time() * 1000)
    query = urllib.parse.urlencode(params)
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"{base_url}{path}?{query}&signature={signature}", method=method,
                                     headers={"X-MBX-APIKEY": api_key})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# Short beat intervals and no debounce waits, so a test sees a sweep within seconds.
FAST_SWEEPS = {"PMS_RECON_POSITION_SYNC_S": "2", "PMS_RECON_ORDER_SYNC_S": "2", "PMS_RECON_ORPHAN_SWEEP_S": "3",
               "PMS_USER_STREAM_CHECK_S": "2", "PMS_ENGINE_HEARTBEAT_CHECK_S": "2", "PMS_RECON_DEBOUNCE_S": "1.5",
               "PMS_RECON_ACTIVITY_S": "1", "PMS_RECON_IN_FLIGHT_TOLERANCE_S": "2",
               "PMS_RECON_MISSING_ORDER_MISSES": "1"}


def start_celery(system: System, role: str, name: str, extra_env: dict[str, str] | None = None,
                 ) -> subprocess.Popen[bytes]:
    """A real Celery worker or beat on the system's environment; its log is `<name>.log` in the workdir."""
    env = system.engine_env()
    env.update(FAST_SWEEPS)
    env.update(extra_env or {})
    if role == "worker":
        args = ["worker", "--loglevel", "INFO", "--concurrency", "1", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "-n", f"{name}@%h"]
    else:
        args = ["beat", "--loglevel", "INFO", "--schedule", str(system.workdir / f"{name}-schedule")]
    log = (system.workdir / f"{name}.log").open("ab")
    process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "pms_site", *args], cwd=REPO, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    system.processes.append(process)
    return process


def celery_log(system: System, name: str) -> str:
    path = system.workdir / f"{name}.log"
    return path.read_text(errors="replace")[-5000:] if path.exists() else ""


class GroupListener:
    """Collects the live events sent to one channel-layer group (what a dashboard page would receive)."""

    def __init__(self, group: str) -> None:
        from asgiref.sync import async_to_sync
        from channels.layers import channel_layers

        self._sync = async_to_sync
        self.layer = channel_layers.make_backend("default")  # its own: a cached layer is bound to an old loop
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(group, self.channel)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = 10) -> dict[str, Any]:
        """The first event (`{"event", "data", "ts", ...}`) that satisfies `predicate`, received within timeout_s.

        One coroutine does all the receiving: the layer's receive buffer is bound to the loop that created it.
        """
        import asyncio

        async def receive() -> dict[str, Any]:
            while True:
                message = await self.layer.receive(self.channel)
                if predicate(message):
                    return dict(message)

        async def bounded() -> dict[str, Any]:
            try:
                return await asyncio.wait_for(receive(), timeout_s)
            except TimeoutError:
                raise AssertionError(f"no matching event within {timeout_s}s") from None

        return self._sync(bounded)()


def start_redis(workdir: Path, port: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """A private redis-server on a free loopback port (never the shared one): tests may stop it."""
    port = port or free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(workdir)],
                               stdout=(workdir / f"redis-{port}.log").open("ab"), stderr=subprocess.STDOUT)
    import redis as redis_client

    client = redis_client.Redis(port=port, socket_connect_timeout=0.2)
    wait_until(lambda: _pings(client), timeout_s=10, what="redis-server to start")
    client.close()
    return process, port


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def virtual_net(symbol: str = "BTCUSDT") -> Decimal:
    """Σ of every sub-account's virtual position in `symbol` (to compare with the exchange's)."""
    from trading.models import VirtualPosition

    return sum((row.quantity for row in VirtualPosition.objects.filter(symbol=symbol)), Decimal(0))


def sim_account_id(system: System) -> int:
    """The simulated exchange's id of the test account."""
    state = system.control("/_sim/state")
    return int(next(a["account_id"] for a in state["accounts"] if a["api_key"] == API_KEY))
