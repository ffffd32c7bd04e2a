"""Benchmark: place→ack and cancel→ack through the PMS venue (CcxtVenue + shared budget) over loopback.

    .venv/bin/python -m pms_site.embedded exec -- .venv/bin/python bench/order_roundtrip_venue.py \
        [--orders 1000] [--concurrency 1] [--in-process]

The same server set-up as bench/simexchange_ccxt.py (raw ccxt), so the difference is the adapter's cost:
the Redis budget round trip, the response hook, Decimal parsing. The budget uses REDIS_URL when set
(as under `pms_site.embedded exec`), else in-process counters. Writes bench/results/order_roundtrip_venue.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.simexchange_ccxt import (  # noqa: E402
    BENCH_KEY,
    BENCH_SECRET,
    _summary,
    in_process_server,
    subprocess_server,
)
from core.clock import SYSTEM_CLOCK  # noqa: E402
from core.money import Rounding, round_to_tick  # noqa: E402
from trading.domain.types import OrderType, Side, TimeInForce  # noqa: E402
from trading.venues.base import Accepted, OrderRequest, Quote  # noqa: E402
from trading.venues.budget import RequestBudget, budget_redis  # noqa: E402
from trading.venues.ccxt_client import VenueConfig  # noqa: E402
from trading.venues.ccxt_venue import CcxtVenue  # noqa: E402

RESULTS = REPO / "bench" / "results" / "order_roundtrip_venue.json"


async def first_quote(venue: CcxtVenue) -> Quote:
    quotes = venue.watch_quotes(["BTCUSDT"])
    try:
        async with asyncio.timeout(30):
            async for item in quotes:
                if isinstance(item, Quote) and item.bid_price > 0:
                    return item
    finally:
        await quotes.aclose()  # type: ignore[attr-defined]
    raise RuntimeError("no quote")


async def worker(venue: CcxtVenue, name: str, count: int, price: Decimal, quantity: Decimal,
                 places: list[float], cancels: list[float]) -> None:
    for i in range(count):
        client_id = f"PMSbench_{name}_{i}"
        request = OrderRequest(client_id, "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity, price, TimeInForce.GTC)
        started = time.perf_counter()
        placed = await venue.place(request)
        acked = time.perf_counter()
        cancelled = await venue.cancel(symbol="BTCUSDT", client_order_id=client_id)
        done = time.perf_counter()
        if not isinstance(placed, Accepted) or not isinstance(cancelled, Accepted):
            raise RuntimeError(f"{client_id}: {placed} / {cancelled}")
        places.append(acked - started)
        cancels.append(done - acked)


async def run(orders: int, concurrency: int, in_process: bool) -> dict[str, Any]:
    server = in_process_server() if in_process else subprocess_server()
    redis_url = os.environ.get("REDIS_URL")
    async with server as ccxt_config:
        base_url = ccxt_config["urls"]["api"]["fapiPublic"].removesuffix("/fapi/v1")
        redis = budget_redis(redis_url) if redis_url else None
        budget = RequestBudget(account=f"bench-{os.getpid()}", clock=SYSTEM_CLOCK, redis=redis, owns_redis=True)
        config = VenueConfig(account="bench", api_key=BENCH_KEY, secret=BENCH_SECRET, base_url=base_url)
        venue = CcxtVenue(config, clock=SYSTEM_CLOCK, budget=budget, owns_budget=True)
        try:
            quote = await first_quote(venue)
            price = round_to_tick(quote.bid_price * Decimal("0.97"), Decimal("0.1"), Rounding.DOWN)
            quantity = (Decimal(200) / price).quantize(Decimal("0.001"), rounding=ROUND_CEILING)
            await worker(venue, "warm", 20, price, quantity, [], [])
            places: list[float] = []
            cancels: list[float] = []
            started = time.perf_counter()
            await asyncio.gather(*(worker(venue, f"w{n}", orders // concurrency, price, quantity, places, cancels)
                                   for n in range(concurrency)))
            elapsed = time.perf_counter() - started
        finally:
            await venue.close()
    return {
        "benchmark": "order_roundtrip_venue",
        "mode": "in-process" if in_process else "subprocess",
        "budget": "redis" if redis_url else "in-process",
        "orders": len(places),
        "concurrency": concurrency,
        "elapsed_s": round(elapsed, 3),
        "orders_per_s": round(len(places) / elapsed, 1),
        "place_ack_ms": _summary(places),
        "cancel_ack_ms": _summary(cancels),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.orders, args.concurrency, args.in_process))
    print(f"mode={result['mode']} budget={result['budget']} orders={result['orders']} "
          f"concurrency={result['concurrency']} orders/s={result['orders_per_s']}")
    for name in ("place_ack_ms", "cancel_ack_ms"):
        figures = result[name]
        print(f"{name:14s} p50={figures['p50']:.3f}  p99={figures['p99']:.3f}  max={figures['max']:.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
