"""Benchmark: place→ack and cancel→ack through the engine (journal row first, then the venue) to simexchange.

The exchange runs in its own process on loopback; the OrderManager writes each order to PostgreSQL before
sending it, exactly as in production. Run: `python -m pms_site.embedded exec -- python bench/order_roundtrip.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")

import django

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.db import connections  # noqa: E402

from bench.scratch import report, run_bounded, scratch_database  # noqa: E402
from core.clock import SYSTEM_CLOCK  # noqa: E402
from trading.domain.records import OrderIntent  # noqa: E402
from trading.domain.types import OrderType, Side  # noqa: E402
from trading.engine.hooks import AllowAll  # noqa: E402
from trading.engine.journal_pg import PostgresJournal  # noqa: E402
from trading.engine.order_manager import OrderManager  # noqa: E402
from trading.models import Instrument, SubAccount  # noqa: E402
from trading.venues.budget import RequestBudget  # noqa: E402
from trading.venues.ccxt_client import VenueConfig  # noqa: E402
from trading.venues.ccxt_venue import CcxtVenue  # noqa: E402

D = Decimal


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 3)


def setup_desk() -> int:
    Instrument.objects.create(symbol="BTCUSDT", base_asset="BTC", tick_size=D("0.10"), step_size=D("0.001"),
                              min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("100"))
    return SubAccount.objects.create(name="bench").pk


def start_exchange() -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "simexchange", "--port", "0", "--symbols", "BTCUSDT", "--source", "synthetic",
         "--api-key", "bench", "--secret", "bench-secret", "--balance", "10000000",
         "--orders-per-10s", "1000000", "--orders-per-minute", "1000000", "--weight-per-minute", "10000000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    config = json.loads(process.stdout.readline())
    return process, config["urls"]["api"]["fapiPublic"].rsplit("/fapi", 1)[0]


async def measure(orders: int, base_url: str) -> dict[str, float]:
    sub_account_id = await sync_to_async(setup_desk)()
    venue = CcxtVenue(VenueConfig(account="bench-rt", api_key="bench", secret="bench-secret", base_url=base_url),
                      clock=SYSTEM_CLOCK, budget=RequestBudget(account="bench-rt", clock=SYSTEM_CLOCK),
                      owns_budget=True)
    pre_trade = AllowAll()
    manager = OrderManager(venue=venue, journal=PostgresJournal(publish=lambda *args: None), pre_trade=pre_trade)
    manager.resume()
    await venue.instruments()  # markets loaded before timing
    place_ms, cancel_ms = [], []
    for n in range(orders):
        intent = OrderIntent(sub_account_id, "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.002"), D("50000.0") + n % 50)
        started = time.perf_counter()
        placed = await manager.place(intent)
        place_ms.append((time.perf_counter() - started) * 1000)
        assert placed.ok, placed.reason
        started = time.perf_counter()
        cancelled = await manager.cancel(placed.client_order_id or "")
        cancel_ms.append((time.perf_counter() - started) * 1000)
        assert cancelled.ok, cancelled.reason
    await manager.close()
    await venue.close()
    return {"orders": orders, "place_ack_p50_ms": percentile(place_ms, 0.5),
            "place_ack_p99_ms": percentile(place_ms, 0.99), "cancel_ack_p50_ms": percentile(cancel_ms, 0.5),
            "cancel_ack_p99_ms": percentile(cancel_ms, 0.99), "pre_trade_checks": pre_trade.calls}


async def run(orders: int, base_url: str) -> dict[str, float]:
    try:
        return await measure(orders, base_url)
    finally:
        await sync_to_async(connections.close_all)()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=500)
    args = parser.parse_args()
    with scratch_database():
        exchange, base_url = start_exchange()
        try:
            figures = run_bounded(run(args.orders, base_url))
        finally:
            exchange.terminate()
            exchange.wait(10)
    report("order_roundtrip", figures)


if __name__ == "__main__":
    main()
