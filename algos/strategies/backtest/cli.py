"""The strategy-backtest command line: `manage.py backtest --strategy NAME ...` and `manage.py backtest_strategy`."""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from algos.strategies.backtest.analytics import report_build, report_text
from algos.strategies.backtest.chaos import ChaosError, ChaosEvent, chaos_parse
from algos.strategies.backtest.charts import html_write, png_write
from algos.strategies.backtest.data import DataError, bars_load, kline_files
from algos.strategies.backtest.registry import UnknownStrategyError
from algos.strategies.backtest.results import DEFAULT_RESULTS, result_store
from algos.strategies.backtest.run import (
    StrategyBacktestError,
    StrategyBacktestRequest,
    strategy_backtest_run,
    symbols_parse,
)

BAR_WIDTH = 30


class Writer(Protocol):
    def write(self, text: str) -> Any: ...

    def flush(self) -> None: ...


def add_strategy_arguments(parser: argparse.ArgumentParser, *, shared: bool = False) -> None:
    """The strategy mode's options; `shared`: --data, --param, --seed, --out and --no-progress already exist
    (the algo backtest's), only the strategy's own are added."""
    parser.add_argument("--strategy", help="a strategy backtest: ensemble")
    parser.add_argument("--symbols", help="strategy: symbols to trade (default: every symbol in the data)")
    parser.add_argument("--capital", default="10000", help="strategy: starting equity in USDT")
    parser.add_argument("--chaos", action="append", default=[], metavar="KIND@WHEN[/AMOUNT]",
                        help="strategy: flood@+3d/80, raise@+10d, reject@2025-06-20T12:00/900, halt@+5d")
    parser.add_argument("--max-orders-per-minute", type=int, default=60,
                        help="strategy: the risk engine's order-rate breaker")
    parser.add_argument("--results", help=f"strategy: results folder with index.json (default {DEFAULT_RESULTS})")
    if not shared:
        parser.add_argument("--data", required=True, help="kline CSVs, or tick data (websocket captures .gz, "
                            "bookTicker / aggTrades CSVs): file(s) or folder(s), comma-separated")
        parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--out", help="folder for report.json, equity.png and equity.html")
        parser.add_argument("--no-progress", action="store_true")


def _pairs(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise StrategyBacktestError(f"--param takes NAME=VALUE, got {pair!r}")
        parsed[key.strip()] = value.strip()
    return parsed


def request_from(options: dict[str, Any]) -> StrategyBacktestRequest:
    try:
        capital = Decimal(str(options.get("capital") or "10000"))
    except InvalidOperation:
        raise StrategyBacktestError(f"--capital must be a number, got {options.get('capital')!r}") from None
    data = str(options["data"])
    chaos_texts = list(options.get("chaos") or [])
    chaos: tuple[ChaosEvent, ...] = ()
    if chaos_texts:
        try:
            first_ms = bars_load(kline_files(data)[0])[0].open_time_ms
            chaos = tuple(chaos_parse(text, first_ms=first_ms) for text in chaos_texts)
        except (ChaosError, DataError) as exc:
            raise StrategyBacktestError(str(exc)) from None
    rate = int(options.get("max_orders_per_minute") or 60)
    if rate <= 0:
        raise StrategyBacktestError(f"--max-orders-per-minute must be at least 1, got {rate}")
    return StrategyBacktestRequest(strategy=str(options["strategy"]).lower(), data=data,
                                   symbols=symbols_parse(options.get("symbols")),
                                   params=_pairs(list(options.get("param") or [])),
                                   seed=int(options.get("seed") or 0), capital=capital, chaos=chaos,
                                   max_orders_per_minute=rate)


class Progress:
    def __init__(self, stream: Writer) -> None:
        self.stream, self.started, self._last = stream, time.perf_counter(), 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self._last < 0.2:
            return
        self._last = now
        fraction = done / total if total else 1.0
        filled = int(fraction * BAR_WIDTH)
        self.stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction * 100:3.0f}%  "
                          f"{done:,}/{total:,} bars  {now - self.started:.1f} s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def run_id_for(request: StrategyBacktestRequest, report: dict[str, Any], stamp: str) -> str:
    symbols = "-".join(report["symbols"])
    name = f"{request.strategy}-{symbols}-{report['timeframe']}-s{request.seed}-{stamp}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def strategy_backtest_main(options: dict[str, Any], *, stdout: Writer, stderr: Writer) -> dict[str, Any]:
    """Run, print the report, store it with its charts and index it. Raises StrategyBacktestError on bad input."""
    from core.clock import SYSTEM_CLOCK  # naming the result folder only: the backtest runs on its virtual clock

    request = request_from(options)
    progress = None if options.get("no_progress") else Progress(stderr)
    try:
        result = asyncio.run(strategy_backtest_run(request, progress=progress))
    except UnknownStrategyError as exc:
        raise StrategyBacktestError(str(exc)) from None
    report = report_build(result)
    root = Path(options.get("results") or DEFAULT_RESULTS).expanduser()
    run_id = run_id_for(request, report, SYSTEM_CLOCK.now().strftime("%Y%m%d-%H%M%S"))
    folder = Path(options["out"]).expanduser() if options.get("out") else root / run_id
    if folder.exists() and not folder.is_dir():
        raise StrategyBacktestError(f"--out {folder} exists and is not a folder")
    text = report_text(report)
    folder.mkdir(parents=True, exist_ok=True)
    title = f"{request.strategy} {', '.join(report['symbols'])} — {report['status']}"
    png_write(folder / "equity.png", title=title, times_ms=result.equity_times_ms, equity=result.equity,
              breakers=report["breakers"])
    html_write(folder / "equity.html", title=title, times_ms=result.equity_times_ms, equity=result.equity,
               report_text=text, breakers=report["breakers"])
    result_store(report, folder=folder, root=root, run_id=run_id)
    stdout.write(text + "\n")
    stdout.write(f"  wrote {folder / 'report.json'}, {folder / 'equity.png'}, {folder / 'equity.html'}; "
                 f"indexed in {root / 'index.json'}\n")
    return report


def main(argv: list[str] | None = None) -> int:
    import sys

    parser = argparse.ArgumentParser(prog="python -m algos.strategies.backtest", description=__doc__)
    add_strategy_arguments(parser)
    options = vars(parser.parse_args(argv))
    if not options.get("strategy"):
        parser.error("--strategy is required")
    try:
        strategy_backtest_main(options, stdout=sys.stdout, stderr=sys.stderr)
    except StrategyBacktestError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0
