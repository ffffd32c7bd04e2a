"""Benchmark: backtest quotes/s on the peer-comparison stream, through the real algos and OrderManager.

    .venv/bin/python bench/backtest_throughput.py [--quotes 1000000] [--scenario null ...] [--profile DIR]

The stream: one instrument (BTCUSDT, tick 0.1), the bid a random walk in whole ticks (-1, 0, +1 equally
likely), ask = bid + 1 tick, sizes 0.001-5, quotes 100 ms apart, seed 20240718. It is drawn once and held
compactly (a move and two size indices per quote); each scenario replays it in chunks of 100,000 BookTickers
made while the clock is stopped (that cost is reported apart), so a million quotes are never a million
objects at once. The backtest keeps what is working and only recent history (world_create(keep_history=False)),
as a long backtest must; peak RSS is the whole process's. Each scenario runs the backtest
composition of algos/backtest (AlgoEngine with its runners, OrderManager with the pre-trade hook, FillRouter
and the position book, in-process matching core, memory journal, virtual clock); nothing is stubbed.

Scenarios: null (a trail stop subscribed but never armed: it only watches), reprice (one resting buy 5 ticks
under the bid, repriced on every bid move - throttle 100 ms, the quote spacing - never filling), chase-to-fill
(a chase at the touch; when it fills the next starts on the other side, so the position returns to flat),
one-sided (chases buying only; per-quote cost at 10k vs 100k quotes), twap (one parent per simulated hour,
horizon 600 s, interval 10 s). On uvloop, as the live engine (run_engine); --loop asyncio to compare.
Needs no database or Redis. Writes bench/results/backtest_throughput.json.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import platform
import pstats
import random
import resource
import sys
import time
from array import array
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from algos.backtest.replay import Replay
from algos.backtest.world import SUB_ACCOUNT_ID, BacktestWorld, world_create
from algos.engine import RunRecord
from bench.scratch import report
from simexchange.marketdata import BookTicker
from trading.domain.client_ids import OrderOrigin
from trading.domain.records import FillBooked, OrderIntent
from trading.domain.types import OrderType, Side
from trading.engine.hooks import AllowAll

SYMBOL = "BTCUSDT"
TICK = Decimal("0.1")
START_BID_TICKS = 600_000  # 60000.0
START_MS = 1_721_260_800_000  # 2024-07-18 00:00 UTC
SPACING_MS = 100
SEED = 20240718
HOUR_MS = 3_600_000
CHUNK = 100_000  # quotes made into objects at a time
TARGETS = {"null": 450_000, "reprice": 200_000, "chase_to_fill": 114_000, "twap": 380_000}
MAX_RATIO = 1.1
MAX_RSS_MIB = 400


class QuoteStream:
    """The peer-comparison quotes: the draws kept as arrays (5 bytes a quote), made into BookTickers by chunks.

    The same sequence as drawing the BookTickers at once: `rng.choices` consumes one random number per pick
    whatever the population holds, so picking size indices picks the same sizes. Decimal prices are shared
    per tick level and sizes come from one table.
    """

    def __init__(self, count: int, seed: int = SEED) -> None:
        rng = random.Random(seed)
        self.count = count
        self.moves = array("b", rng.choices((-1, 0, 1), k=count))
        self.bid_sizes = array("H", rng.choices(range(5000), k=count))
        self.ask_sizes = array("H", rng.choices(range(5000), k=count))
        self.sizes = [Decimal(step) / 1000 for step in range(1, 5001)]  # 0.001 .. 5.000
        self.levels: dict[int, Decimal] = {}

    def _level(self, ticks: int) -> Decimal:
        price = self.levels.get(ticks)
        if price is None:
            price = self.levels[ticks] = ticks * TICK
        return price

    def chunks(self, count: int, size: int = CHUNK) -> Iterator[list[BookTicker]]:
        """The first `count` quotes, in order, `size` at a time."""
        moves, bid_sizes, ask_sizes, sizes, level = self.moves, self.bid_sizes, self.ask_sizes, self.sizes, self._level
        bid = START_BID_TICKS
        for start in range(0, min(count, self.count), size):
            chunk = []
            for index in range(start, min(start + size, count, self.count)):
                bid += moves[index]
                at = START_MS + index * SPACING_MS
                chunk.append(BookTicker(SYMBOL, index + 1, level(bid), sizes[bid_sizes[index]], level(bid + 1),
                                        sizes[ask_sizes[index]], at, at))
            yield chunk


class Scenario:
    """Builds the world, starts its algos from the replay's quote hooks, and says what happened."""

    name = ""

    def __init__(self) -> None:
        self.world: BacktestWorld | None = None
        self.replay: Replay | None = None
        self.next_run_id = 1
        self.fills = 0

    async def setup(self, world: BacktestWorld, replay: Replay) -> None:
        self.world, self.replay = world, replay
        world.router.fill_listeners.append(self.count_fill)

    def unhook(self) -> None:
        """The algo is started: the replay need not call the scenario on every quote any more."""
        assert self.replay is not None
        self.replay.before_quote = None

    async def before_quote(self, quote: BookTicker) -> None:
        return None

    async def start(self, kind: str, params: dict[str, Any]) -> int:
        assert self.world is not None
        run_id, self.next_run_id = self.next_run_id, self.next_run_id + 1
        record = RunRecord(run_id, kind, SUB_ACCOUNT_ID, {"symbol": SYMBOL, **params})
        self.world.runs[run_id] = record
        await self.world.engine.start({"algo_run_id": run_id}, record=record)
        return run_id

    def count_fill(self, booked: FillBooked) -> None:
        if booked.sub_account_id == SUB_ACCOUNT_ID:
            self.fills += 1

    def figures(self) -> dict[str, Any]:
        assert self.world is not None
        world = self.world
        return {"orders_sent": world.venue.places, "cancels_sent": world.venue.cancels, "fills": self.fills,
                "position": str(world.position(SYMBOL).quantity),
                "pre_trade_checks": getattr(world.manager.pre_trade, "calls", None),
                "algos_started": self.next_run_id - 1}


class Null(Scenario):
    name = "null"

    async def before_quote(self, quote: BookTicker) -> None:
        if self.next_run_id > 1:
            return
        assert self.world is not None
        result = await self.world.manager.place(OrderIntent(SUB_ACCOUNT_ID, SYMBOL, Side.BUY, OrderType.MARKET,
                                                            Decimal("0.010"), origin=OrderOrigin.MKT))
        if not result.ok:
            raise RuntimeError(f"the position to protect was not opened: {result.reason}")
        await self.world.pump()
        # Armed only at 1,000,000: it watches every quote and never acts.
        await self.start("trail_stop", {"trail_pct": "1", "activation_price": "1000000"})
        self.unhook()


class Reprice(Scenario):
    name = "reprice"

    async def before_quote(self, quote: BookTicker) -> None:
        if self.next_run_id == 1:
            await self.start("chase", {"side": "buy", "quantity": "0.010", "offset_ticks": 5,
                                       "stalk_mode": "maintain", "reprice_throttle_ms": 100,
                                       "max_distance_pct": "50"})
            self.unhook()


class ChaseToFill(Scenario):
    name = "chase_to_fill"
    alternate = True

    def __init__(self) -> None:
        super().__init__()
        self.side = "buy"
        self.current: int | None = None

    async def before_quote(self, quote: BookTicker) -> None:
        assert self.world is not None
        runner = self.world.engine.runners.get(self.current) if self.current is not None else None
        if self.current is not None and runner is not None and runner.outcome is None:
            return
        if self.current is not None and self.alternate:
            self.side = "sell" if self.side == "buy" else "buy"
        self.current = await self.start("chase", {"side": self.side, "quantity": "0.010", "offset_ticks": 0,
                                                  "stalk_mode": "maintain", "max_distance_pct": "50"})


class OneSided(ChaseToFill):
    name = "one_sided"
    alternate = False


class Twap(Scenario):
    name = "twap"

    def __init__(self) -> None:
        super().__init__()
        self.next_start_ms = START_MS
        self.side = "sell"

    async def before_quote(self, quote: BookTicker) -> None:
        if quote.event_time_ms >= self.next_start_ms:
            assert self.world is not None
            self.world.ticks.note(SYMBOL, quote.bid_price, quote.ask_price, quote.event_time_ms)  # sizes the lots
            self.next_start_ms += HOUR_MS
            self.side = "buy" if self.side == "sell" else "sell"
            await self.start("twap", {"side": self.side, "quantity": "0.600", "lots": 60, "interval_s": 10})


async def run_scenario(scenario: Scenario, quotes: QuoteStream, count: int) -> dict[str, Any]:
    world = await world_create(start_ms=START_MS, pre_trade=AllowAll(), record_events=False, keep_history=False)
    replay = Replay(world, symbols=[SYMBOL], before_quote=scenario.before_quote)
    await scenario.setup(world, replay)
    elapsed = making = 0.0
    made = time.perf_counter()
    for chunk in quotes.chunks(count):  # the clock runs only while the replay does
        gc.collect()
        started = time.perf_counter()
        making += started - made
        stats = await replay.run(chunk)
        made = time.perf_counter()
        elapsed += made - started
        del chunk
    return {"quotes": stats.quotes, "seconds": round(elapsed, 3), "quotes_per_s": round(stats.quotes / elapsed),
            "us_per_quote": round(elapsed / stats.quotes * 1e6, 3), "simulated_s": (stats.last_ms or 0) // 1000
            - START_MS // 1000, "quote_objects_s": round(making, 3), **scenario.figures()}


LOOPS: dict[str, Callable[..., Any]] = {"uvloop": uvloop.run, "asyncio": asyncio.run}
LOOP = ["uvloop"]


def measure(name: str, factory: Callable[[], Scenario], quotes: QuoteStream, count: int,
            profile_dir: Path | None) -> dict[str, Any]:
    run = LOOPS[LOOP[0]]
    if profile_dir is None:
        return run(run_scenario(factory(), quotes, count))
    profiler = cProfile.Profile()
    profiler.enable()
    result = run(run_scenario(factory(), quotes, count))
    profiler.disable()
    profile_dir.mkdir(parents=True, exist_ok=True)
    path = profile_dir / f"backtest_{name}.prof"
    profiler.dump_stats(path)
    print(f"--- {name}: top functions by own time (cProfile inflates the totals; see {path})")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(12)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quotes", type=int, default=1_000_000, help="stream length for null, reprice, chase, twap")
    parser.add_argument("--scenario", action="append", choices=["null", "reprice", "chase_to_fill", "one_sided",
                                                                 "twap"], help="run only these (repeatable)")
    parser.add_argument("--profile", type=Path, help="write a cProfile per scenario into this folder")
    parser.add_argument("--loop", choices=sorted(LOOPS), default="uvloop", help="event loop (live: uvloop)")
    args = parser.parse_args()
    LOOP[0] = args.loop
    chosen = args.scenario or ["null", "reprice", "chase_to_fill", "one_sided", "twap"]
    longest = max(args.quotes, 100_000 if "one_sided" in chosen else 0)
    started = time.perf_counter()
    quotes = QuoteStream(longest)
    generation_s = time.perf_counter() - started
    figures: dict[str, Any] = {"benchmark": "backtest_throughput", "quotes": args.quotes, "seed": SEED,
                               "loop": args.loop, "load_average_at_start": os.getloadavg()[0],
                               "stream_generation_s": round(generation_s, 3)}
    factories: dict[str, Callable[[], Scenario]] = {"null": Null, "reprice": Reprice, "chase_to_fill": ChaseToFill,
                                                    "twap": Twap}
    for name in chosen:
        if name == "one_sided":
            small = measure("one_sided_10k", OneSided, quotes, 10_000, args.profile)
            large = measure("one_sided_100k", OneSided, quotes, 100_000, args.profile)
            ratio = large["us_per_quote"] / small["us_per_quote"]
            figures["one_sided"] = {"10k": small, "100k": large, "cost_ratio_100k_10k": round(ratio, 3),
                                    "target_ratio_max": MAX_RATIO, "meets_target": ratio <= MAX_RATIO}
        else:
            result = measure(name, factories[name], quotes, args.quotes, args.profile)
            result["target_quotes_per_s"] = TARGETS[name]
            result["meets_target"] = result["quotes_per_s"] >= TARGETS[name]
            figures[name] = result
        print(f"{name}: done", flush=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    figures["peak_rss_mib"] = round(peak_mib, 1)
    figures["peak_rss_target_mib"] = MAX_RSS_MIB
    figures["python"] = platform.python_version()
    figures["machine"] = platform.machine()
    report("backtest_throughput", figures)


if __name__ == "__main__":
    main()
