"""Pre-trade checks per second and the time to re-evaluate every sub-account on one tick.

Usage: .venv/bin/python bench/risk_check.py [--checks N] [--subs S] [--positions P] [--repeat R]
Times risk.domain.pretrade.pre_trade_check with every limit set (the hot path of RiskEngine.check), and
the margin re-evaluation (risk.domain.margin.account_margin, Binance brackets) of S sub-accounts with P
positions each, as one tick would trigger. Best of R runs. Prints the figures and writes
bench/results/risk_check.json. Targets: <= 20 us per check, <= 20 ms per full re-evaluation.
"""

from __future__ import annotations

import argparse
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
from risk.domain.limits import GlobalLimits, SubAccountLimits  # noqa: E402
from risk.domain.margin import Bracket, PositionInput, account_margin  # noqa: E402
from risk.domain.pretrade import AccountBook, GlobalBook, pre_trade_check  # noqa: E402
from risk.domain.states import GLOBAL, ScopeState, TradingState  # noqa: E402
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
    best_eval = min(time_reevaluation(accounts) for _ in range(args.repeat))
    report("risk_check", {
        "checks": args.checks, "allowed": allowed, "checks_per_second": round(args.checks / best_checks),
        "us_per_check": round(best_checks / args.checks * 1e6, 2), "target_us_per_check": 20,
        "subs": args.subs, "positions_per_sub": args.positions,
        "ms_per_full_reevaluation": round(best_eval * 1e3, 2), "target_ms_per_reevaluation": 20,
        "python": platform.python_version(), "machine": platform.machine(),
    })


if __name__ == "__main__":
    main()
