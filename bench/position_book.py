"""Fills per second netted into in-memory positions by trading.domain.positions.apply_fill.

Usage: .venv/bin/python bench/position_book.py [--fills N] [--repeat R] [--seed S] [--profile]
Pre-builds N fills across four symbols (random sides and sizes on each symbol's tick and step grid,
prices on a random walk, maker/taker fees), then times only the apply loop; best of R runs.
Prints the figures and writes bench/results/position_book.json.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import random
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from trading.domain.positions import Fill, Position, apply_fill  # noqa: E402
from trading.domain.types import Side  # noqa: E402

TARGET_FILLS_PER_SECOND = 300_000
FEE_QUANTUM = Decimal("1e-8")
MAKER_FEE, TAKER_FEE = Decimal("0.0002"), Decimal("0.0005")


@dataclass(frozen=True)
class Market:
    symbol: str
    tick_size: Decimal
    step_size: Decimal
    start_price: Decimal
    max_steps: int  # largest fill, in steps


MARKETS = (
    Market("BTCUSDT", Decimal("0.10"), Decimal("0.001"), Decimal("60000.00"), 500),
    Market("ETHUSDT", Decimal("0.01"), Decimal("0.001"), Decimal("3000.00"), 5_000),
    Market("SOLUSDT", Decimal("0.0100"), Decimal("1"), Decimal("150.0000"), 200),
    Market("DOGEUSDT", Decimal("0.000010"), Decimal("1"), Decimal("0.150000"), 50_000),
)


def build_fills(count: int, seed: int) -> list[Fill]:
    """Fills in arrival order; each symbol's price wanders a few ticks per fill and never reaches zero."""
    rng = random.Random(seed)
    ticks = {m.symbol: int(m.start_price / m.tick_size) for m in MARKETS}
    fills = []
    for i in range(count):
        market = rng.choice(MARKETS)
        ticks[market.symbol] = max(1, ticks[market.symbol] + rng.randint(-5, 5))
        price = ticks[market.symbol] * market.tick_size
        quantity = rng.randint(1, market.max_steps) * market.step_size
        is_maker = rng.random() < 0.4
        fee = (price * quantity * (MAKER_FEE if is_maker else TAKER_FEE)).quantize(FEE_QUANTUM)
        fills.append(Fill(trade_key=str(i), symbol=market.symbol, side=rng.choice((Side.BUY, Side.SELL)),
                          price=price, quantity=quantity, fee=fee, is_maker=is_maker))
    return fills


def apply_all(fills: list[Fill]) -> dict[str, Position]:
    positions = {m.symbol: Position(symbol=m.symbol) for m in MARKETS}
    for fill in fills:
        positions[fill.symbol], _ = apply_fill(positions[fill.symbol], fill)
    return positions


def run(fills: list[Fill], repeat: int) -> tuple[list[float], dict[str, Position]]:
    rates = []
    positions: dict[str, Position] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        positions = apply_all(fills)
        elapsed = time.perf_counter() - started
        rates.append(len(fills) / elapsed)
    return rates, positions


def check(fills: list[Fill], positions: dict[str, Position]) -> None:
    """The loop did the work: every position's quantity is the sum of its signed fills."""
    for symbol, position in positions.items():
        assert position.quantity == sum((f.signed_quantity for f in fills if f.symbol == symbol), Decimal(0))


def profile(fills: list[Fill]) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(apply_all, fills)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run after timing")
    args = parser.parse_args()

    started = time.perf_counter()
    fills = build_fills(args.fills, args.seed)
    build_seconds = time.perf_counter() - started
    rates, positions = run(fills, args.repeat)
    check(fills, positions)
    best, median = max(rates), sorted(rates)[len(rates) // 2]
    result = {
        "benchmark": "position_book",
        "what": "Fill objects/s through trading.domain.positions.apply_fill into in-memory positions, 4 symbols",
        "fills_per_run": args.fills,
        "runs": args.repeat,
        "seed": args.seed,
        "fills_per_second_best": round(best),
        "fills_per_second_median": round(median),
        "microseconds_per_fill_best": round(1e6 / best, 3),
        "target_fills_per_second": TARGET_FILLS_PER_SECOND,
        "meets_target": best >= TARGET_FILLS_PER_SECOND,
        "build_seconds": round(build_seconds, 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(f"fills/s: best {best:,.0f}  median {median:,.0f}  ({1e6 / best:.2f} µs/fill; "
          f"target {TARGET_FILLS_PER_SECOND:,}; best of {args.repeat} runs of {args.fills:,})")
    out = ROOT / "bench" / "results" / "position_book.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    if args.profile:
        profile(fills)


if __name__ == "__main__":
    main()
