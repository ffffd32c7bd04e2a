"""Pre-trade checks per second and the time to re-evaluate every sub-account on one tick.

Usage: .venv/bin/python bench/risk_check.py [--checks N] [--subs S] [--positions P] [--repeat R]
Times risk.domain.pretrade.pre_trade_check with every limit set (the hot path of RiskEngine.check), and
for S sub-accounts holding P positions each:
- ms_per_full_reevaluation: RiskEngine.on_quote of a symbol every sub-account holds, each due for
  evaluation: margin ratio (Binance brackets), daily-loss/drawdown/rapid-drawdown breakers, the ADL test.
  What the tick decides, synchronously, on the engine's loop.
- ms_snapshot_flush: what that tick leaves for right after, in chunks of 250 between other loop work:
  every snapshot with liquidation prices, drawdown, concentration, margin_updated, JSON-encoded as the
  Redis writer does (the socket write itself not included; VaR not included: its recomputation is spread
  over flushes, VAR_PER_CHUNK per chunk).
- ms_margin_from_scratch: risk.domain.margin.account_margin (liquidation prices included) of every
  sub-account from scratch, the reference computation.
Best of R runs. Prints the figures and writes bench/results/risk_check.json.
Targets: <= 20 us per check, <= 20 ms per full re-evaluation.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import report  # noqa: E402
from core.clock import VirtualClock  # noqa: E402
from risk.domain.limits import GlobalLimits, SubAccountLimits  # noqa: E402
from risk.domain.margin import Bracket, PositionInput, account_margin  # noqa: E402
from risk.domain.pretrade import AccountBook, GlobalBook, pre_trade_check  # noqa: E402
from risk.domain.states import GLOBAL, ScopeState, TradingState  # noqa: E402
from risk.engine import MemoryRiskStore, RiskConfig, RiskEngine  # noqa: E402
from risk.snapshots import snapshot_encode  # noqa: E402
from trading.domain.records import OrderIntent  # noqa: E402
from trading.domain.types import OrderType, Side  # noqa: E402

D = Decimal
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT")
MARKS = {"BTCUSDT": D("60000.1"), "ETHUSDT": D("3000.05"), "SOLUSDT": D("150.12"), "BNBUSDT": D("580.3"),
         "XRPUSDT": D("0.5123")}
# Binance's BTCUSDT tiers (simexchange/core/brackets.py has the source), used for every symbol here.
BRACKETS = (Bracket(D(0), D(50000), 125, D("0.004"), D(0)), Bracket(D(50000), D(250000), 100, D("0.005"), D(50)),
            Bracket(D(250000), D(3000000), 50, D("0.01"), D(1300)),
            Bracket(D(3000000), D(20000000), 20, D("0.025"), D(46300)))
LIMITS = SubAccountLimits(max_position_notional=D(5_000_000), max_total_notional=D(10_000_000),
                          max_leverage=D(20), max_open_orders=200, max_orders_per_minute=10**9,
                          max_order_notional=D(1_000_000), allowed_symbols=frozenset(SYMBOLS),
                          price_band_pct=D(5))


def build_checks(count: int, seed: int) -> tuple[list[OrderIntent], AccountBook, GlobalBook]:
    rng = random.Random(seed)
    book = AccountBook(1, LIMITS, positions={s: D(rng.randint(-50, 50)) / 10 for s in SYMBOLS},
                       margin_balance=D(1_000_000))
    world = GlobalBook(GlobalLimits(max_symbol_net_notional=D(50_000_000), max_total_notional=D(500_000_000)),
                       net={s: D(rng.randint(-500, 500)) / 10 for s in SYMBOLS},
                       gross={s: D(rng.randint(0, 1000)) / 10 for s in SYMBOLS}, marks=dict(MARKS))
    intents = []
    for i in range(count):
        symbol = rng.choice(SYMBOLS)
        price = (MARKS[symbol] * D(rng.randint(980, 1020)) / 1000).quantize(D("0.01")) if i % 2 else None
        intents.append(OrderIntent(1, symbol, rng.choice((Side.BUY, Side.SELL)),
                                   OrderType.LIMIT if price is not None else OrderType.MARKET,
                                   D(rng.randint(1, 1000)) / 1000, price))
    return intents, book, world


def time_checks(intents: list[OrderIntent], book: AccountBook, world: GlobalBook) -> tuple[float, int]:
    states = (ScopeState(GLOBAL, TradingState.ACTIVE), None, None)
    allowed = 0
    started = time.perf_counter()
    for intent in intents:
        if pre_trade_check(intent, book=book, world=world, reference_price=MARKS[intent.symbol], now_ms=0,
                           states=states).allowed:
            allowed += 1
    return time.perf_counter() - started, allowed


def build_accounts(subs: int, positions: int, seed: int) -> list[list[PositionInput]]:
    rng = random.Random(seed)
    return [[PositionInput(symbol, D(rng.randint(-2000, 2000)) / 100 or D(1),
                           MARKS[symbol] * D(rng.randint(900, 1100)) / 1000, MARKS[symbol], 10)
             for symbol in SYMBOLS[:positions]] for _ in range(subs)]


def time_reevaluation(accounts: list[list[PositionInput]]) -> float:
    brackets = dict.fromkeys(SYMBOLS, BRACKETS)
    started = time.perf_counter()
    for inputs in accounts:
        account_margin(wallet_balance=D(250_000), positions=inputs, brackets=brackets)
    return time.perf_counter() - started


def build_engine(accounts: list[list[PositionInput]]) -> tuple[RiskEngine, VirtualClock, list[int]]:
    clock = VirtualClock(1_700_000_000_000)
    published: list[int] = []
    engine = RiskEngine(manager=None, brackets=dict.fromkeys(SYMBOLS, BRACKETS),  # type: ignore[arg-type]
                        instruments={}, store=MemoryRiskStore(), clock=clock,
                        publish=lambda group, kind, data: published.append(1),
                        config=RiskConfig(var_interval_ms=10**12))
    limits = SubAccountLimits(max_leverage=D(10), max_daily_loss=D(100_000), max_drawdown_pct=D(50),
                              rapid_drawdown_pct=D(50))
    subs = range(1, len(accounts) + 1)
    for symbol in SYMBOLS:
        engine.world.marks[symbol] = MARKS[symbol]
    engine.load(limits=dict.fromkeys(subs, limits), global_limits=engine.world.limits, states={},
                wallets=dict.fromkeys(subs, D(250_000)),
                positions=[(sub, p.symbol, p.quantity, p.entry_price)
                           for sub, inputs in zip(subs, accounts, strict=True) for p in inputs])
    encoded: list[int] = []

    async def encode(items: list[tuple[int, dict]]) -> None:  # what the Redis writer does, without the socket
        encoded.extend(len(snapshot_encode(data)) for _, data in items)

    engine.snapshots = encode
    return engine, clock, published


def time_engine_ticks(accounts: list[list[PositionInput]], repeat: int) -> tuple[float, float, int]:
    """Best tick (synchronous decisions) and best flush (snapshots) over `repeat` ticks of BTCUSDT."""

    async def run() -> tuple[float, float, int]:
        engine, clock, published = build_engine(accounts)
        best_tick = best_flush = float("inf")
        for i in range(repeat + 1):
            clock.advance(2.0)  # every sub-account is due again
            mark = MARKS["BTCUSDT"] * (1 + D(i % 7 - 3) / 1000)
            started = time.perf_counter()
            engine.on_quote("BTCUSDT", mark=mark)
            ticked = time.perf_counter()
            await engine.settle()
            flushed = time.perf_counter()
            if i:  # the first one warms the caches
                best_tick, best_flush = min(best_tick, ticked - started), min(best_flush, flushed - ticked)
        return best_tick, best_flush, len(published)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=200_000)
    parser.add_argument("--subs", type=int, default=1_000)
    parser.add_argument("--positions", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    intents, book, world = build_checks(args.checks, args.seed)
    best_checks, allowed = min(time_checks(intents, book, world) for _ in range(args.repeat))
    accounts = build_accounts(args.subs, args.positions, args.seed)
    best_scratch = min(time_reevaluation(accounts) for _ in range(args.repeat))
    best_tick, best_flush, _ = time_engine_ticks(accounts, args.repeat)
    report("risk_check", {
        "checks": args.checks, "allowed": allowed, "checks_per_second": round(args.checks / best_checks),
        "us_per_check": round(best_checks / args.checks * 1e6, 2), "target_us_per_check": 20,
        "subs": args.subs, "positions_per_sub": args.positions,
        "ms_per_full_reevaluation": round(best_tick * 1e3, 2), "target_ms_per_reevaluation": 20,
        "ms_snapshot_flush": round(best_flush * 1e3, 2), "ms_margin_from_scratch": round(best_scratch * 1e3, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(), "machine": platform.machine(),
    })


if __name__ == "__main__":
    main()
