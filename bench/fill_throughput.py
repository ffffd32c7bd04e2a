"""Benchmark: fills/s booked end to end, from simexchange's user-data events to PostgreSQL rows.

The exchange (in-process server, real websocket) fills N resting orders at once; the engine's venue
adapter, fill router and PostgreSQL journal book them with one transaction per burst, exactly once.
Run: `python -m pms_site.embedded exec -- python bench/fill_throughput.py [--fills N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import multiprocessing
import os
import socket
import sys
import time
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")

import django

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.db import connections  # noqa: E402

from bench.scratch import report, run_bounded, scratch_database  # noqa: E402
from core.clock import SYSTEM_CLOCK  # noqa: E402
from simexchange.core import RateLimitConfig  # noqa: E402
from simexchange.marketdata import BookTicker, MarkPrice  # noqa: E402
from simexchange.server import ServerConfig, SimExchange  # noqa: E402
from simexchange.server.runner import engine_config_for  # noqa: E402
from trading.engine.journal_pg import PostgresJournal  # noqa: E402
from trading.engine.order_manager import OrderManager  # noqa: E402
from trading.engine.routing import FillRouter  # noqa: E402
from trading.events import EventOutbox  # noqa: E402
from trading.models import Fill, Order, SubAccount  # noqa: E402
from trading.services import subaccount_house  # noqa: E402
from trading.venues.base import OrderEvent, UserEvent  # noqa: E402
from trading.venues.budget import RequestBudget  # noqa: E402
from trading.venues.ccxt_client import VenueConfig  # noqa: E402
from trading.venues.ccxt_venue import CcxtVenue  # noqa: E402

D = Decimal


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_orders(count: int) -> tuple[SubAccount, list[str]]:
    sub = SubAccount.objects.create(name="bench")
    subaccount_house()
    now = datetime.now(UTC)
    ids = [f"PMS{sub.code}_LMT_b{n}" for n in range(count)]
    Order.objects.bulk_create([Order(client_order_id=cid, sub_account=sub, symbol="BTCUSDT", side="buy",
                                     order_type="limit", time_in_force="GTC", price=D("60000"), quantity=D("0.002"),
                                     status="new", origin="LMT", created_at=now, updated_at=now) for cid in ids])
    return sub, ids


async def run(count: int) -> dict[str, float]:
    try:
        return await measure(count)
    finally:
        await sync_to_async(connections.close_all)()  # the database thread's connection, before the drop


def serve_exchange(count: int, port: int, client_ids: list[str], ready: Any) -> None:
    """The exchange in its own process (as in production), holding `count` resting buys of ours."""

    async def serve() -> None:
        unlimited = RateLimitConfig(request_weight_per_minute=10**9, orders_per_10s=10**9, orders_per_minute=10**9)
        base = engine_config_for(("BTCUSDT",), unlimited)
        # A burst bigger than Binance's 200 open orders per symbol: the cap is lifted for this measurement.
        config = dataclasses.replace(base, symbols=tuple(dataclasses.replace(spec, max_num_orders=count + 1)
                                                         for spec in base.symbols))
        async with SimExchange(ServerConfig(symbols=("BTCUSDT",), port=port, source=None, api_key="bench",
                                            secret="bench-secret", balance=D("100000000")),
                               engine_config=config) as sim:
            account_id = sim.default_account["account_id"]  # type: ignore[index]
            now = sim.ctx.now_ms()
            await sim.push(BookTicker("BTCUSDT", 1, D("60000.0"), D("5"), D("60000.1"), D("5"), now, now))
            await sim.push(MarkPrice("BTCUSDT", D("60000"), D("60000"), D("60000"), D("0.0001"), now + 3_600_000,
                                     now))
            for cid in client_ids:
                sim.engine.new_order(account_id, {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                  "timeInForce": "GTC", "quantity": "0.002", "price": "60000.0",
                                                  "newClientOrderId": cid})
            ready.set()
            await asyncio.Event().wait()

    asyncio.run(serve())


def post_json(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).read()


async def measure(count: int) -> dict[str, float]:
    sub, ids = await sync_to_async(prepare_orders)(count)
    port = free_port()
    spawn = multiprocessing.get_context("spawn")  # never fork a process that has threads: the child may deadlock
    ready = spawn.Event()
    exchange = spawn.Process(target=serve_exchange, args=(count, port, ids, ready), daemon=True)
    exchange.start()
    try:
        if not await asyncio.to_thread(ready.wait, 120):
            raise RuntimeError("the exchange did not get ready")
        return await book_burst(count, sub, f"http://127.0.0.1:{port}")
    finally:
        exchange.terminate()
        exchange.join(10)


async def book_burst(count: int, sub: SubAccount, base_url: str) -> dict[str, float]:
    venue = CcxtVenue(VenueConfig(account="bench", api_key="bench", secret="bench-secret", base_url=base_url),
                      clock=SYSTEM_CLOCK, budget=RequestBudget(account="bench", clock=SYSTEM_CLOCK), owns_budget=True)
    outbox = EventOutbox(asyncio.get_running_loop())  # as run_engine: broadcasts never block booking
    publisher = asyncio.create_task(outbox.run())
    journal = PostgresJournal(publish=outbox.publish)
    manager = OrderManager(venue=venue, journal=journal, publish=outbox.publish)
    await manager.load()
    router = FillRouter(journal=journal, manager=manager, venue=venue, sub_account_codes={sub.code: sub.pk},
                        house_sub_account_id=(await sync_to_async(subaccount_house)()).pk, publish=outbox.publish)
    queue: asyncio.Queue[UserEvent] = asyncio.Queue()

    async def read() -> None:
        async for event in venue.watch_user_events():
            queue.put_nowait(event)

    reader = asyncio.create_task(read())
    await asyncio.sleep(1.0)  # the private websocket is connected
    while not queue.empty():
        queue.get_nowait()
    started = time.perf_counter()
    await asyncio.to_thread(post_json, base_url + "/_sim/market",
                            {"type": "bookTicker", "symbol": "BTCUSDT", "bid": "59990.0", "ask": "59990.1"})
    booked, batches, first_event_at, busy = 0, 0, 0.0, 0.0
    while booked < count:
        batch = [await asyncio.wait_for(queue.get(), timeout=60)]
        first_event_at = first_event_at or time.perf_counter()
        while not queue.empty() and len(batch) < 500:
            batch.append(queue.get_nowait())
        handling = time.perf_counter()
        await router.handle_batch(batch)
        busy += time.perf_counter() - handling  # the engine's own work, without waiting for the exchange
        batches += 1
        booked += sum(1 for event in batch if isinstance(event, OrderEvent) and event.trade is not None)
    finished = time.perf_counter()
    reader.cancel()
    publisher.cancel()  # events still queued for pages are dropped: the booking is what is measured
    await asyncio.wait({reader, publisher}, timeout=2)
    await venue.close()
    rows = await sync_to_async(Fill.objects.count)()
    return {"fills": count, "rows": rows, "batches": batches,
            "seconds_from_crossing_quote": round(finished - started, 3),
            "seconds_from_first_event": round(finished - first_event_at, 3),
            "fills_per_s_from_first_event": round(count / (finished - first_event_at), 1),
            "fills_per_s_including_exchange_matching": round(count / (finished - started), 1),
            "engine_busy_seconds": round(busy, 3),
            "fills_per_s_engine_busy": round(count / busy, 1),
            "target_fills_per_s": 2000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fills", type=int, default=3000)
    args = parser.parse_args()
    with scratch_database():
        figures = run_bounded(run(args.fills))
    report("fill_throughput", figures)


if __name__ == "__main__":
    main()
