"""Benchmark: create + cancel round trips through unmodified ccxt.pro.binanceusdm against the simulated exchange.

    .venv/bin/python bench/simexchange_ccxt.py [--orders 1000] [--concurrency 1] [--in-process]

By default the server runs as a separate process (`python -m simexchange`, synthetic prices at real
time, order-rate limits raised so the benchmark measures the server, not the limiter); `--in-process`
runs it in the client's event loop instead. Prints orders/s and p50/p99 latencies and writes
bench/results/simexchange_ccxt.json. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import signal
import statistics
import sys
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro as ccxtpro

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simexchange.ccxt_config import copy_linear_error_map  # noqa: E402
from simexchange.core import RateLimitConfig  # noqa: E402
from simexchange.server import ServerConfig, SimExchange  # noqa: E402

RESULTS = REPO / "bench" / "results" / "simexchange_ccxt.json"
SYMBOL = "BTC/USDT:USDT"
BIG = 10**9
BENCH_KEY = "benchKey"
BENCH_SECRET = "benchSecret"


@contextlib.asynccontextmanager
async def subprocess_server() -> AsyncIterator[dict[str, Any]]:
    args = ["--port", "0", "--symbols", "BTCUSDT", "--source", "synthetic", "--speed", "1", "--seed", "1"]
    args += ["--api-key", BENCH_KEY, "--secret", BENCH_SECRET, "--balance", "100000000"]
    args += ["--weight-per-minute", str(BIG), "--orders-per-10s", str(BIG), "--orders-per-minute", str(BIG)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simexchange", *args, cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        yield json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 10)


@contextlib.asynccontextmanager
async def in_process_server() -> AsyncIterator[dict[str, Any]]:
    limits = RateLimitConfig(request_weight_per_minute=BIG, orders_per_10s=BIG, orders_per_minute=BIG)
    config = ServerConfig(
        symbols=("BTCUSDT",), source="synthetic", seed=1, api_key=BENCH_KEY, secret=BENCH_SECRET,
        balance=Decimal(10**8), rate_limits=limits,
    )  # fmt: skip
    async with SimExchange(config) as sim:
        yield sim.ccxt_config()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


async def worker(ex: Any, count: int, price: float, creates: list[float], cancels: list[float]) -> None:
    for _ in range(count):
        started = time.perf_counter()
        order = await ex.create_order(SYMBOL, "limit", "buy", 0.01, price)
        placed = time.perf_counter()
        await ex.cancel_order(order["id"], SYMBOL)
        creates.append(placed - started)
        cancels.append(time.perf_counter() - placed)


async def run(orders: int, concurrency: int, in_process: bool) -> dict[str, Any]:
    server = in_process_server() if in_process else subprocess_server()
    async with server as config:
        ex = ccxtpro.binanceusdm({**config, "enableRateLimit": False})
        copy_linear_error_map(ex)
        try:
            await ex.load_markets()
            for _ in range(50):  # wait for the synthetic feed's first quote
                with contextlib.suppress(ccxt.BaseError):
                    book = await ex.fetch_bids_asks([SYMBOL])
                    if book.get(SYMBOL, {}).get("bid"):
                        break
                await asyncio.sleep(0.1)
            price = float(ex.price_to_precision(SYMBOL, book[SYMBOL]["bid"] * 0.97))
            await worker(ex, 20, price, [], [])  # warm-up
            creates: list[float] = []
            cancels: list[float] = []
            per_worker = orders // concurrency
            started = time.perf_counter()
            await asyncio.gather(*(worker(ex, per_worker, price, creates, cancels) for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        finally:
            await ex.close()
    pairs = [c + d for c, d in zip(creates, cancels, strict=True)]
    return {
        "benchmark": "simexchange_ccxt",
        "mode": "in-process" if in_process else "subprocess",
        "orders": len(creates),
        "concurrency": concurrency,
        "elapsed_s": round(elapsed, 3),
        "orders_per_s": round(len(creates) / elapsed, 1),
        "requests_per_s": round(2 * len(creates) / elapsed, 1),
        "create_ms": _summary(creates),
        "cancel_ms": _summary(cancels),
        "create_cancel_ms": _summary(pairs),
        "python": platform.python_version(),
        "ccxt": ccxt.__version__,
        "machine": platform.machine(),
    }


def _summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50": round(percentile(ms, 0.50), 3),
        "p99": round(percentile(ms, 0.99), 3),
        "mean": round(statistics.fmean(ms), 3),
        "max": round(max(ms), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.orders, args.concurrency, args.in_process))
    print(f"mode={result['mode']} orders={result['orders']} concurrency={result['concurrency']}")
    print(f"orders/s (create+cancel pairs): {result['orders_per_s']}  requests/s: {result['requests_per_s']}")
    for name in ("create_ms", "cancel_ms", "create_cancel_ms"):
        figures = result[name]
        print(f"{name:17s} p50={figures['p50']:.3f}  p99={figures['p99']:.3f}  max={figures['max']:.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
