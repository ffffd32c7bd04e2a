"""Market-data throughput: the wire codec, the engine's L1 apply + callback path, and feed → Redis → engine.

Usage: .venv/bin/python -m pms_site.embedded exec -- .venv/bin/python bench/marketdata_codec.py [--symbols N]
       [--batches B] [--repeat R] [--no-redis]
Codec and apply figures need nothing; the Redis figure publishes batches on a private channel of REDIS_URL and
times them into a MarketDataService (pub/sub, decode, L1 cache, one callback per symbol).
Prints the figures and writes bench/results/marketdata_codec.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")

from core.clock import SYSTEM_CLOCK  # noqa: E402
from trading.marketdata.cache import L1  # noqa: E402
from trading.marketdata.codec import decode_batch, encode_batch  # noqa: E402
from trading.venues.base import Mark, Quote  # noqa: E402


def make_batch(symbols: int, step: int, now_ms: int) -> list[Quote | Mark]:
    events: list[Quote | Mark] = []
    for i in range(symbols):
        base = Decimal(60_000 + i) + Decimal(step % 100) / 10
        events.append(Quote(f"S{i:03d}USDT", base, Decimal("1.234"), base + Decimal("0.1"), Decimal("0.567"), now_ms))
        events.append(Mark(f"S{i:03d}USDT", base + Decimal("0.05"), Decimal("0.00010000"), now_ms + 3_600_000, now_ms))
    return events


def best_rate(count: int, repeat: int, run: object) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        timings.append(time.perf_counter() - start)
    return count / min(timings)


def bench_codec(symbols: int, batches: int, repeat: int) -> dict[str, float]:
    payloads = [make_batch(symbols, n, 1_700_000_000_000 + n) for n in range(batches)]
    encoded = [encode_batch(batch) for batch in payloads]
    events = sum(len(batch) for batch in payloads)
    return {
        "encode_events_per_s": best_rate(events, repeat, lambda: [encode_batch(b) for b in payloads]),
        "decode_events_per_s": best_rate(events, repeat, lambda: [decode_batch(p) for p in encoded]),
        "bytes_per_event": sum(len(p) for p in encoded) / events,
    }


def bench_apply(symbols: int, batches: int, repeat: int) -> dict[str, float]:
    from trading.marketdata.redis_bus import make_redis
    from trading.marketdata.service import MarketDataService

    encoded = [encode_batch(make_batch(symbols, n, 1_700_000_000_000 + n)) for n in range(batches)]
    events = symbols * 2 * batches

    def run() -> None:
        service = MarketDataService(redis=make_redis("redis://127.0.0.1:1/0"), venue=None,  # type: ignore[arg-type]
                                    clock=SYSTEM_CLOCK)
        seen = [0]

        def count(_: L1) -> None:
            seen[0] += 1

        for i in range(symbols):
            service.subscribe(f"S{i:03d}USDT", count)
        for payload in encoded:
            service.on_redis_message(payload)

    return {"message_to_callback_events_per_s": best_rate(events, repeat, run)}


async def bench_redis(symbols: int, batches: int) -> dict[str, float]:
    from trading.marketdata.redis_bus import Keys, make_redis
    from trading.marketdata.service import MarketDataService

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    publisher, consumer = make_redis(url), make_redis(url)
    keys = Keys(prefix=f"bench-{uuid.uuid4().hex[:8]}")
    service = MarketDataService(redis=consumer, venue=None, clock=SYSTEM_CLOCK, keys=keys)  # type: ignore[arg-type]
    latencies: list[int] = []
    done = asyncio.Event()

    def on_tick(l1: L1) -> None:
        if l1.quote is not None:
            latencies.append(SYSTEM_CLOCK.now_ms() - l1.quote.time_ms)
        if len(latencies) >= symbols * batches:
            done.set()

    for i in range(symbols):
        service.subscribe(f"S{i:03d}USDT", on_tick)
    runner = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(10):
            while service.redis_state != "up":  # noqa: ASYNC110 - the service exposes no event for this
                await asyncio.sleep(0.01)
        start = time.perf_counter()
        for n in range(batches):  # as fast as Redis takes them: latency here is under saturation
            await publisher.publish(keys.quotes_channel, encode_batch(make_batch(symbols, n, SYSTEM_CLOCK.now_ms())))
            await asyncio.sleep(0)
        async with asyncio.timeout(30):
            await done.wait()
        elapsed = time.perf_counter() - start
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await publisher.delete(keys.demand)
        await publisher.aclose()
        await consumer.aclose()
    quantiles = statistics.quantiles(latencies, n=100)
    return {"redis_events_per_s": symbols * 2 * batches / elapsed, "redis_latency_p50_ms": quantiles[49],
            "redis_latency_p99_ms": quantiles[98]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=250)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)  # the apply bench's service has no Redis on purpose
    import django

    django.setup()
    result: dict[str, object] = {"symbols": args.symbols, "batches": args.batches,
                                 "python": platform.python_version(), "machine": platform.machine()}
    result.update(bench_codec(args.symbols, args.batches, args.repeat))
    result.update(bench_apply(args.symbols, args.batches, args.repeat))
    if not args.no_redis:
        result.update(asyncio.run(bench_redis(args.symbols, args.batches)))
    for key, value in result.items():
        print(f"{key:>36}: {value:,.1f}" if isinstance(value, float) else f"{key:>36}: {value}")
    out = ROOT / "bench" / "results" / "marketdata_codec.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
