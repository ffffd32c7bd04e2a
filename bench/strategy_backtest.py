"""Benchmark: bars/s of the ensemble strategy in a strategy backtest over ../shared/data BTCUSDT-5m klines.

    .venv/bin/python bench/strategy_backtest.py [--data PATH] [--runs 3] [--loop uvloop|asyncio] [--clock cpu]

Three figures, each the median of --runs runs:
- full: the whole backtest (algos.strategies.backtest): each 5m bar (and each derived 15m bar) through the runtime's
  StrategyRunner (isolation guard, rounding) to the ensemble, every signal through the real OrderManager, RiskEngine
  pre-trade check, in-process matching core, FillRouter and memory journal, the intra-bar tick walk while a trade is
  open; bars/s = 5m bars / replay seconds (loading the
  CSV and the one vectorised TA-Lib pass reported apart, and end to end).
- decisions: the ensemble's on_bar alone over the same 5m+15m timeline with preloaded indicators, votes and
  regimes (one vectorised pass) and no execution (what the strategy costs per bar, without the order path).
- indicators: the TA-Lib pass over the 5m series (bars/s of indicator computation).
`--clock cpu` measures process CPU seconds instead of wall seconds (a shared, loaded machine).
Needs no database or Redis. Writes bench/results/strategy_backtest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from algos.strategies.backtest.data import bars_load, bars_resample
from algos.strategies.backtest.run import StrategyBacktestRequest, strategy_backtest_run
from algos.strategies.base import StrategyContext
from algos.strategies.ensemble.strategy import EnsembleStrategy
from algos.strategies.indicators.ta import indicators_compute
from trading.domain.instruments import InstrumentRules

DEFAULT_DATA = (Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "binance-usdm-klines"
                / "BTCUSDT-5m.csv")
OUT = Path(__file__).resolve().parent / "results" / "strategy_backtest.json"
D = Decimal


def full_run(data: Path, loop: str) -> dict[str, Any]:
    request = StrategyBacktestRequest("ensemble", str(data))
    started = time.perf_counter()
    if loop == "uvloop":
        import uvloop

        result = uvloop.run(strategy_backtest_run(request))
    else:
        result = asyncio.run(strategy_backtest_run(request))
    wall = time.perf_counter() - started
    return {"bars": result.bars, "bar_callbacks": result.bars_delivered, "ticks": result.ticks_delivered,
            "orders": len(result.fills), "load_s": result.load_s, "run_s": result.run_s, "wall_s": wall,
            "final_equity": str(result.final_equity)}


def decisions_run(data: Path) -> dict[str, Any]:
    bars5 = bars_load(data)
    bars15 = bars_resample(bars5, "15m")
    timeline = sorted([*bars5, *bars15], key=lambda b: (b.close_time_ms, b.close_time_ms - b.open_time_ms))
    strategy = EnsembleStrategy(["BTCUSDT"])
    strategy.preload("BTCUSDT", "5m", bars5)
    strategy.preload("BTCUSDT", "15m", bars15)
    rules = {"BTCUSDT": InstrumentRules("BTCUSDT", D("0.1"), D("0.001"), D("0.001"), D(1000), D(100))}
    positions: dict[str, Decimal] = {}
    signals = 0
    started = time.perf_counter()
    for bar in timeline:
        signals += len(strategy.on_bar(StrategyContext(bar.close_time_ms, D(10000), positions, {}, rules), bar))
    elapsed = time.perf_counter() - started
    return {"bars": len(bars5), "bar_callbacks": len(timeline), "signals": signals, "s": elapsed}


def indicators_run(data: Path) -> dict[str, Any]:
    bars = bars_load(data)
    high, low = [float(b.high) for b in bars], [float(b.low) for b in bars]
    close, volume = [float(b.close) for b in bars], [float(b.volume) for b in bars]
    started = time.perf_counter()
    indicators_compute(high=high, low=low, close=close, volume=volume)
    return {"bars": len(bars), "s": time.perf_counter() - started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: process CPU seconds, steadier than wall time on a loaded machine")
    options = parser.parse_args()
    if options.clock == "cpu":  # every figure here (and the backtest's own run_s) then counts CPU seconds
        time.perf_counter = time.process_time
    data = Path(options.data)
    if not data.exists():
        print(f"skipped: {data} is not here (../shared/data BTCUSDT-5m klines)")
        return 0
    full = [full_run(data, options.loop) for _ in range(options.runs)]
    decisions = [decisions_run(data) for _ in range(options.runs)]
    indicators = [indicators_run(data) for _ in range(options.runs)]
    run_s = statistics.median(r["run_s"] for r in full)
    wall_s = statistics.median(r["wall_s"] for r in full)
    decide_s = statistics.median(r["s"] for r in decisions)
    ta_s = statistics.median(r["s"] for r in indicators)
    bars = full[0]["bars"]
    figures = {
        "data": str(data), "loop": options.loop, "clock": options.clock, "runs": options.runs,
        "python": platform.python_version(),
        "machine": platform.machine(), "reproducible": len({r["final_equity"] for r in full}) == 1,
        "full": {**full[0], "run_s_median": round(run_s, 3), "wall_s_median": round(wall_s, 3),
                 "bars_per_s": round(bars / run_s), "bars_per_s_end_to_end": round(bars / wall_s)},
        "decisions": {**decisions[0], "s_median": round(decide_s, 4), "bars_per_s": round(bars / decide_s),
                      "bar_callbacks_per_s": round(decisions[0]["bar_callbacks"] / decide_s)},
        "indicators": {"bars": bars, "s_median": round(ta_s, 4), "bars_per_s": round(bars / ta_s)},
        "target_bars_per_s": 50_000,
    }
    print(f"ensemble strategy backtest on {data.name}: {bars:,} 5m bars ({full[0]['bar_callbacks']:,} on_bar "
          f"with 15m, {full[0]['ticks']:,} intra-bar ticks, {full[0]['orders']:,} fills), median of {options.runs}")
    print(f"  full backtest (OrderManager, RiskEngine, matching core): {figures['full']['bars_per_s']:,} bars/s "
          f"(replay {run_s:.3f} s; end to end incl. CSV + TA-Lib {wall_s:.3f} s = "
          f"{figures['full']['bars_per_s_end_to_end']:,} bars/s)")
    print(f"  ensemble decisions alone (on_bar, preloaded indicators): {figures['decisions']['bars_per_s']:,} "
          f"bars/s ({decide_s * 1000:.1f} ms)")
    print(f"  TA-Lib indicators, one vectorised pass: {figures['indicators']['bars_per_s']:,} bars/s "
          f"({ta_s * 1000:.2f} ms)")
    print(f"  target 50,000 bars/s; reproducible across runs: {figures['reproducible']}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"  wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
