"""Benchmark: fills/s and p50/p99 latency through fill_book into PostgreSQL on one connection.

Run: make bench, or `python -m pms_site.embedded exec -- python bench/fill_book_db.py [--fills N]`.
Uses a scratch database (created and dropped) so it never touches real books.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")

import django

django.setup()


from bench.scratch import report, scratch_database  # noqa: E402
from trading.domain.types import Side  # noqa: E402
from trading.models import SubAccount  # noqa: E402
from trading.services import FillReport, fill_book  # noqa: E402
from trading.services.fills import fill_book_many  # noqa: E402


def no_publish(group: str, event_type: str, data: dict) -> None:
    """Broadcasts are measured elsewhere; this measures the booking transaction."""


def run(fills: int, batch: int) -> dict[str, float]:
    subs = [SubAccount.objects.create(name=f"bench-{i}") for i in range(10)]
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    executed_at = datetime(2026, 1, 1, tzinfo=UTC)
    half = fills // 2
    reports = [
        FillReport(trade_key=f"BENCH:{n}", sub_account_id=subs[n % 10].pk, symbol=symbols[n % 3],
                   side=Side.BUY if (n // 7) % 2 == 0 else Side.SELL, price=Decimal(60000 + n % 50) / 10,
                   quantity=Decimal("0.001") * (1 + n % 5), fee=Decimal("0.0123"), executed_at=executed_at)
        for n in range(fills)
    ]
    latencies = []
    started = time.perf_counter()
    for fill_report in reports[:half]:
        t0 = time.perf_counter()
        fill_book(report=fill_report, publish=no_publish)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    batch_started = time.perf_counter()
    for start in range(half, fills, batch):  # how the engine books a burst from the user stream
        fill_book_many(reports=reports[start:start + batch], publish=no_publish)
    batch_elapsed = time.perf_counter() - batch_started
    replay_started = time.perf_counter()
    for fill_report in reports[:1000]:
        fill_book(report=fill_report, publish=no_publish)  # every one a duplicate: the no-op path
    replay_elapsed = time.perf_counter() - replay_started
    latencies.sort()
    return {
        "fills_one_per_transaction": half,
        "fills_per_s": round(half / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
        "duplicates_per_s": round(min(1000, fills) / replay_elapsed, 1),
        "batch_size": batch,
        "batched_fills_per_s": round((fills - half) / batch_elapsed, 1),
        "target_fills_per_s": 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fills", type=int, default=10000, help="half booked one by one, half in bursts")
    parser.add_argument("--batch", type=int, default=20, help="fills per transaction in the burst half")
    args = parser.parse_args()
    with scratch_database():
        figures = run(args.fills, args.batch)
    report("fill_book_db", figures)


if __name__ == "__main__":
    main()
