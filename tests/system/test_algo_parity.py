"""Backtest/live parity (DESIGN §4): each algo, given the same quotes, makes the same decisions live against
simexchange over sockets (feed → Redis → engine → ccxt) and in a backtest (in-process matching core, virtual
clock, memory journal). The decisions compared are the orders the algo sent, in order: side, type, price and
quantity, and how the algo ended.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings

from algos.backtest.replay import Replay
from algos.backtest.world import SUB_ACCOUNT_ID, SentOrder, world_create
from algos.engine import RunRecord
from algos.services import algo_start
from simexchange.marketdata import BookTicker
from trading.domain.client_ids import OrderOrigin
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType, Side
from trading.models import AlgoRun, SubAccount

from .harness import System, wait_until

D = Decimal
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SPACING_S = 0.4  # between quotes: longer than any reprice throttle used here and than a round trip
WARMUP = ("60000.0", "60000.1")
Decision = tuple[str, str, Decimal, Decimal]  # side, type, price (0 for market), quantity

SCRIPTS: dict[str, tuple[dict[str, Any], list[tuple[str, str]], str | None]] = {
    # kind: (parameters, quotes after the start, side of a position opened first)
    "chase": ({"side": "buy", "quantity": "0.010", "reprice_throttle_ms": "100"},
              [("60010.0", "60010.1"), ("60005.0", "60005.1"), ("60005.0", "60005.3"), ("60020.0", "60020.1"),
               ("60010.0", "60015.0")], None),
    "trail_stop": ({"trail_pct": "0.05"},
                   [("60010.0", "60010.1"), ("60040.0", "60040.1"), ("60030.0", "60030.1"), ("60005.0", "60005.1"),
                    ("60004.0", "60004.1")], "buy"),
    "scalper": ({"side": "buy", "quantity": "0.020", "layer_count": "2", "base_offset": "2", "max_spread": "10",
                 "reprice_throttle_ms": "100"},
                [("60010.0", "60010.1"), ("60010.0", "60010.1"), ("60002.0", "60002.1")], None),
    # lots 3 s apart (±30 % jitter): never two in one 1 s engine tick, live or simulated, so none merge
    "twap": ({"side": "sell", "quantity": "0.030", "lots": "3", "interval_s": "3"},
             [WARMUP] * 22, None),
}


class KeepQuoting:
    """Sends the warm-up quote every 200 ms until stopped: a symbol silent for 10 s is resubscribed by the
    feed (as a stale stream should be), and a quote sent during a resubscription would be lost."""

    def __init__(self, system: System) -> None:
        self.system, self.stopped = system, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        sizes = itertools.cycle(("50", "51"))  # a bookTicker stream pushes changes only: vary the size
        while not self.stopped.wait(0.2):
            self.system.quote("BTCUSDT", *WARMUP, qty=next(sizes))

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


@pytest.fixture
def parity_system(desk: dict[str, SubAccount], tmp_path: Path) -> Iterator[tuple[System, KeepQuoting]]:
    running = System(tmp_path)
    keep: KeepQuoting | None = None
    try:
        running.start_simexchange()
        running.start_feed()
        keep = KeepQuoting(running)
        running.start_engine()
        cache = redis.Redis.from_url(settings.REDIS_URL)
        try:  # the engine demands its symbols; quotes flow once the feed streams them into Redis
            wait_until(lambda: cache.exists(f"{running.redis_prefix}:md:price:BTCUSDT"), timeout_s=20,
                       what="the feed to stream BTCUSDT")
        finally:
            cache.close()
        time.sleep(0.5)
        yield running, keep
    finally:
        if keep is not None:
            keep.stop()
        running.stop()


def live_decisions(system: System, keep: KeepQuoting, sub: SubAccount, kind: str) -> tuple[list[Decision], str, int]:
    params, quotes, position_side = SCRIPTS[kind]
    if position_side:
        done = system.command("place_order", sub_account=sub.name, symbol="BTCUSDT", side=position_side,
                              quantity="0.010")
        assert done.status == "done", done.error
        wait_until(lambda: system.exchange_position("BTCUSDT") != 0, what="the position to protect")
    before = {o["orderId"] for o in system.exchange_orders("BTCUSDT")}
    run = algo_start(kind=kind, sub_account_id=sub.pk, params={"symbol": "BTCUSDT", **params}, actor="parity",
                     reference_price=D("60000"))
    wait_until(lambda: AlgoRun.objects.get(pk=run.pk).status != "pending", what="the engine to take the algo")
    keep.stop()
    for bid, ask in [WARMUP, *quotes]:
        system.quote("BTCUSDT", bid, ask)
        time.sleep(SPACING_S)
    time.sleep(1.0)
    orders = sorted((o for o in system.exchange_orders("BTCUSDT") if o["orderId"] not in before),
                    key=lambda o: o["orderId"])
    decisions = [(o["side"].lower(), o["type"].lower(), D(o["price"]) if o["type"] == "LIMIT" else D(0),
                  D(o["origQty"])) for o in orders if "_" in o["clientOrderId"]]
    run.refresh_from_db()
    return decisions, str(run.status), run.pk


async def backtest_decisions(kind: str, algo_run_id: int) -> tuple[list[Decision], str]:
    params, quotes, position_side = SCRIPTS[kind]
    start_ms = int(time.time() * 1000)
    world = await world_create(start_ms=start_ms)
    replay = Replay(world, symbols=["BTCUSDT"])
    update = iter(range(1, 10_000))

    def ticker(bid: str, ask: str, at_ms: int) -> BookTicker:
        return BookTicker("BTCUSDT", next(update), D(bid), D("50"), D(ask), D("50"), at_ms, at_ms)

    await replay.step(ticker(*WARMUP, start_ms))
    if position_side:
        result = await world.manager.place(OrderIntent(SUB_ACCOUNT_ID, "BTCUSDT", Side(position_side),
                                                       OrderType.MARKET, D("0.010"), origin=OrderOrigin.MKT))
        assert result.ok
        await world.pump()
    sent_before = len(world.venue.sent)
    record = RunRecord(algo_run_id, kind, SUB_ACCOUNT_ID, {"symbol": "BTCUSDT", **params})
    world.runs[algo_run_id] = record
    await world.engine.start({"algo_run_id": algo_run_id}, record=record)
    at = start_ms
    for bid, ask in [WARMUP, *quotes]:
        at += int(SPACING_S * 1000)
        await replay.step(ticker(bid, ask, at))
        await asyncio.sleep(0)
    await replay.step(ticker(*(quotes or [WARMUP])[-1], at + 1000))
    await world.engine.tick()
    placed = [s for s in world.venue.sent[sent_before:] if isinstance(s, SentOrder) and s.kind == "place"]
    decisions = [(s.side, s.order_type, s.price if s.order_type == "limit" and s.price else D(0),
                  s.quantity or D(0)) for s in placed]
    status = world.run_status.get(algo_run_id, ("running", {}))[0]
    return decisions, status


@pytest.mark.parametrize("kind", list(SCRIPTS))
def test_the_same_quotes_make_the_same_decisions_live_and_in_backtest(parity_system, desk, kind):
    system, keep = parity_system
    live, live_status, run_id = live_decisions(system, keep, desk["alpha"], kind)
    backtest, backtest_status = asyncio.run(backtest_decisions(kind, run_id))
    assert live, f"the {kind} sent nothing live ({live_status}, {AlgoRun.objects.get(pk=run_id).result}): " \
                 f"{system.engine_log()[-2000:]}"
    assert [(s, t, p.normalize(), q.normalize()) for s, t, p, q in live] == \
        [(s, t, p.normalize(), q.normalize()) for s, t, p, q in backtest]
    assert live_status == backtest_status
