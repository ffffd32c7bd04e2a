"""GET /api/v1/sub-accounts/{id}/positions/ latency at a fixed request rate, against a real uvicorn process.

Usage: .venv/bin/python bench/api_latency.py [--rate 500] [--duration 30] [--positions 5] [--connections 16]
A scratch database (PMS_TEST_DATABASE) holds one sub-account with N open positions and an API key; the risk
snapshot (liquidation prices) sits in Redis as the engine writes it. uvicorn serves the ASGI app on loopback;
an open-loop asyncio client on keep-alive connections sends requests on a fixed schedule (rate/s) and times
each from its scheduled start (so a slow server is not hidden by a client that waits). Prints p50/p90/p99/max
and writes bench/results/api_latency.json. Target: p99 <= 5 ms at 500 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from bench.scratch import RESULTS, report, scratch_database, web_start  # noqa: E402

RESULTS_LOG = RESULTS / "api_latency.server.log"

D = Decimal


def seed(positions: int) -> tuple[int, str]:
    import redis
    from django.contrib.auth.models import User

    from access.services import apikey_issue
    from core.clock import SYSTEM_CLOCK
    from risk.domain.margin import Bracket, PositionInput, account_margin
    from risk.snapshots import snapshot_data, snapshot_encode, snapshot_key
    from trading.models import Instrument, SubAccount, VirtualPosition
    from trading.services import subaccount_deposit

    user = User.objects.create_user("bench", password="bench-password-1")
    sub = SubAccount.objects.create(name="bench")
    sub.operators.add(user)
    subaccount_deposit(sub_account_id=sub.pk, amount=D("100000"), actor="bench")
    now = SYSTEM_CLOCK.now()
    rows = []
    for i in range(positions):
        symbol = f"SYM{i}USDT"
        Instrument.objects.create(symbol=symbol, base_asset=f"SYM{i}", tick_size=D("0.01"), step_size=D("0.001"),
                                  min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("5"))
        VirtualPosition.objects.create(sub_account=sub, symbol=symbol, quantity=D("1.5"), average_entry=D("100"),
                                       realized_pnl=D("12.5"), fees=D("0.3"),
                                       updated_at=now)
        rows.append({"symbol": symbol})
    # the snapshot as the engine writes it (risk.engine: margin figures, liquidation prices, realized PnL, fees)
    brackets = {row["symbol"]: (Bracket(D(0), D("1000000000"), 50, D("0.004"), D(0)),) for row in rows}
    margin = account_margin(wallet_balance=D("100000"), brackets=brackets, positions=[
        PositionInput(row["symbol"], D("1.5"), D("100"), D("101"), 20) for row in rows])
    data = snapshot_data(sub.pk, margin, state="active", at_ms=SYSTEM_CLOCK.now_ms(),
                         booked={row["symbol"]: (D("12.5"), D("0.3")) for row in rows})
    redis.Redis.from_url(settings.REDIS_URL).set(snapshot_key(sub.pk), snapshot_encode(data), ex=3600)
    _, raw = apikey_issue(user=user, name="bench", scopes=["read"], expires_at=now + timedelta(days=1), actor="bench")
    return sub.pk, raw


def database_url() -> str:
    params = connection.settings_dict
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    return (f"postgresql://{params['USER'] or 'postgres'}{password}@{params['HOST'] or '127.0.0.1'}:"
            f"{params['PORT'] or 5432}/{params['NAME']}")


def start_server(port: int) -> subprocess.Popen[bytes]:
    return web_start(port, {"DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
                            "PMS_LOG_LEVEL": "WARNING"}, RESULTS_LOG, "--log-level", "warning")


async def load(port: int, path: str, key: str, rate: float, duration_s: float,
               connections: int) -> tuple[list[float], int]:
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {key}\r\n\r\n").encode()
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    errors = 0
    statuses: dict[str, int] = {}

    async def one(scheduled: float) -> None:
        nonlocal errors
        reader, writer = await pool.get()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
                statuses[head.split(b"\r\n", 1)[0].decode()] = statuses.get(head.split(b"\r\n", 1)[0].decode(), 0) + 1
            latencies.append((time.perf_counter() - scheduled) * 1000)
        finally:
            pool.put_nowait((reader, writer))

    tasks = []
    start = time.perf_counter()
    total = int(rate * duration_s)
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    if statuses:
        print("non-200 answers:", statuses)
    while not pool.empty():
        pool.get_nowait()[1].close()
    return latencies, errors


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--positions", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    from tests.system.harness import free_port

    with scratch_database():
        sub_id, key = seed(args.positions)
        port = free_port()
        server = start_server(port)
        path = f"/api/v1/sub-accounts/{sub_id}/positions/"
        try:
            body = urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", headers={"X-Api-Key": key}), timeout=5).read()
            assert b'"realized_pnl":"12.5"' in body, body  # served from the risk snapshot's figures
            asyncio.run(load(port, path, key, rate=100, duration_s=3, connections=args.connections))  # warm-up
            latencies, errors = asyncio.run(load(port, path, key, args.rate, args.duration, args.connections))
        finally:
            server.terminate()
            server.wait(timeout=10)
    load_avg = os.getloadavg()
    report("api_latency", {
        "endpoint": "GET /api/v1/sub-accounts/{id}/positions/ (API key)", "positions": args.positions,
        "rate_per_s": args.rate, "duration_s": args.duration, "requests": len(latencies), "errors": errors,
        "p50_ms": round(percentile(latencies, 50), 2), "p90_ms": round(percentile(latencies, 90), 2),
        "p99_ms": round(percentile(latencies, 99), 2), "max_ms": round(max(latencies), 2),
        "target_p99_ms": 5, "cpus": os.cpu_count(), "load_avg_1_5_15": [round(x, 2) for x in load_avg]})


if __name__ == "__main__":
    main()
