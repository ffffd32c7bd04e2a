"""Quotes per second through the matching core in-process, with 100 resting orders that the quotes never reach.

Usage: .venv/bin/python bench/simexchange_matching.py [--quotes N] [--repeat R]
Prints the figures and writes bench/results/simexchange_matching.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from simexchange.core import MatchingEngine  # noqa: E402
from simexchange.marketdata import BookTicker, MarkPrice  # noqa: E402

SYMBOL = "BTCUSDT"
START_MS = 1_700_000_000_000
MID = Decimal("50000.0")
TICK = Decimal("0.1")
RESTING = 100


class _Clock:
    def __init__(self) -> None:
        self.ms = START_MS

    def __call__(self) -> int:
        return self.ms


def build_engine() -> MatchingEngine:
    """An engine with one funded account and 100 resting GTC orders, 50 a side, 20..69 ticks off the mid."""
    clock = _Clock()
    engine = MatchingEngine(clock=clock)
    account = engine.create_account(api_key="bench", secret="bench-secret", deposit=Decimal("10000000"))
    engine.on_mark_price(MarkPrice(SYMBOL, MID, MID, MID, Decimal("0.0001"), START_MS + 3_600_000, START_MS))
    engine.on_book_ticker(BookTicker(SYMBOL, 1, MID - TICK, Decimal("2"), MID, Decimal("2"), START_MS, START_MS))
    for i in range(RESTING // 2):
        for side, price in (("BUY", MID - TICK * (20 + i)), ("SELL", MID + TICK * (20 + i))):
            engine.new_order(
                account,
                {
                    "symbol": SYMBOL,
                    "side": side,
                    "type": "LIMIT",
                    "timeInForce": "GTC",
                    "quantity": "0.010",
                    "price": str(price),
                },
            )
    assert len(engine.open_orders(account)) == RESTING
    return engine


def build_quotes(count: int) -> list[BookTicker]:
    """A quote stream wandering +-10 ticks around the mid: never reaches the resting orders."""
    quotes = []
    offset = 0
    step = 1
    for i in range(count):
        offset += step
        if abs(offset) >= 10:
            step = -step
        bid = MID + TICK * offset
        quotes.append(
            BookTicker(SYMBOL, i + 2, bid, Decimal("1.5"), bid + TICK, Decimal("2.5"), START_MS + i, START_MS + i)
        )
    return quotes


def run(quotes: list[BookTicker], repeat: int, *, dispatch: bool = False) -> list[float]:
    """Quotes/s over `repeat` fresh engines; `dispatch` goes through on_market_event as the server does."""
    rates = []
    for _ in range(repeat):
        engine = build_engine()
        on_quote = engine.on_market_event if dispatch else engine.on_book_ticker
        started = time.perf_counter()
        for quote in quotes:
            on_quote(quote)
        elapsed = time.perf_counter() - started
        assert len(engine.book(SYMBOL).buys) + len(engine.book(SYMBOL).sells) == RESTING  # nothing filled
        rates.append(len(quotes) / elapsed)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quotes", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    quotes = build_quotes(args.quotes)
    rates = run(quotes, args.repeat)
    best = max(rates)
    median = sorted(rates)[len(rates) // 2]
    dispatched = sorted(run(quotes, args.repeat, dispatch=True))[args.repeat // 2]
    result = {
        "benchmark": "simexchange_matching",
        "what": "BookTicker events/s through MatchingEngine.on_book_ticker, 100 resting orders, no fills",
        "quotes_per_run": args.quotes,
        "runs": args.repeat,
        "quotes_per_second_best": round(best),
        "quotes_per_second_median": round(median),
        "quotes_per_second_median_via_on_market_event": round(dispatched),
        "target_quotes_per_second": 500_000,
        "meets_target": median >= 500_000,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(f"quotes/s: best {best:,.0f}  median {median:,.0f}  (target 500,000; {args.repeat} runs of {args.quotes:,})")
    print(f"quotes/s through on_market_event (dispatch by type): median {dispatched:,.0f}")
    out = ROOT / "bench" / "results" / "simexchange_matching.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
