"""The backtest command line, shared by `manage.py backtest` and `python -m algos.backtest` (no Django settings)."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from algos.backtest.chart import ChartData, html_write, png_write
from algos.backtest.replay import ReplayStats
from algos.backtest.report import plain, report_build, report_text
from algos.backtest.session import ALGO_KINDS, BacktestError, BacktestRequest, backtest_run, estimate_events
from core.clock import SYSTEM_CLOCK
from simexchange.sources import parse_speed

DEFAULT_OUT = Path(".pms") / "backtests"


class Writer(Protocol):
    """sys.stdout, or a management command's OutputWrapper."""

    def write(self, text: str) -> Any: ...

    def flush(self) -> None: ...
BAR_WIDTH = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--algo", required=True, help="chase, scalper, twap or trail")
    parser.add_argument("--data", required=True,
                        help="'synthetic', or a capture (.gz), Binance CSV (bookTicker, aggTrades, klines) or folder")
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--side", default="buy", help="buy or sell (trail: the side of the protected position)")
    parser.add_argument("--quantity", default="0.010", help="in the base asset, on the step grid")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="algo parameters: stalk_mode, offset_ticks, max_distance_pct, reprice_throttle_ms, "
                             "lots, interval_s, limit_price, irregular, trail_pct, activation_price, …")
    parser.add_argument("--seed", type=int, default=0, help="synthetic data: the price path's seed")
    parser.add_argument("--duration", type=int, default=3600, help="synthetic data: seconds of market")
    parser.add_argument("--speed", default="max", help="'max' (default) or a factor of real time, e.g. 10")
    parser.add_argument("--keep-going", action="store_true",
                        help="replay all the data even after the algo has finished")
    parser.add_argument("--max-seconds", type=int, help="stop after this many simulated seconds from the first quote")
    parser.add_argument("--out", help=f"folder for report.json, chart.png and chart.html (default {DEFAULT_OUT}/…)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BacktestError(f"--param takes NAME=VALUE, got {pair!r}")
        parsed[key.strip()] = value.strip()
    return parsed


def request_from(options: dict[str, Any]) -> BacktestRequest:
    algo = str(options["algo"]).lower()
    if algo not in ALGO_KINDS:
        raise BacktestError(f"unknown algo {algo!r}; choose one of chase, scalper, twap, trail")
    try:
        quantity = Decimal(str(options["quantity"]))
    except InvalidOperation:
        raise BacktestError(f"--quantity must be a number, got {options['quantity']!r}") from None
    try:
        speed = parse_speed(str(options.get("speed") or "max"))
    except ValueError as exc:
        raise BacktestError(f"--speed: {exc}") from None
    params = parse_pairs(list(options.get("param") or []))
    for reserved in ("symbol", "side", "quantity"):
        if reserved in params:
            raise BacktestError(f"give {reserved} as --{reserved}, not as --param")
    return BacktestRequest(algo=algo, data=str(options["data"]), symbol=str(options["symbol"]).upper(),
                           side=str(options["side"]).lower(), quantity=quantity, params=params,
                           seed=int(options.get("seed") or 0), duration_s=int(options.get("duration") or 3600),
                           speed=speed, keep_going=bool(options.get("keep_going")),
                           max_seconds=options.get("max_seconds"))


class ProgressBar:
    """`[#####.....]  45%  12,000/26,000 events  8,000 quotes  ETA 3 s` on one rewritten stderr line."""

    def __init__(self, stream: Writer, total: int | None) -> None:
        self.stream, self.total = stream, total
        self.started = time.perf_counter()
        self._last_draw = 0.0

    def __call__(self, stats: ReplayStats) -> None:
        now = time.perf_counter()
        if now - self._last_draw < 0.2:
            return
        self._last_draw = now
        self.draw(stats, done=False)

    def draw(self, stats: ReplayStats, *, done: bool) -> None:
        elapsed = time.perf_counter() - self.started
        if self.total:
            fraction = 1.0 if done else min(stats.events / self.total, 0.99)
            filled = int(fraction * BAR_WIDTH)
            eta = 0.0 if done or fraction <= 0 else elapsed * (1 - fraction) / fraction
            line = (f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction * 100:3.0f}%  "
                    f"{stats.events:,}/{self.total:,} events  {stats.quotes:,} quotes  ETA {eta:.0f} s")
        else:
            line = f"{stats.events:,} events  {stats.quotes:,} quotes  {elapsed:.0f} s"
        self.stream.write("\r" + line.ljust(100))
        if done:
            if stats.stopped_early:
                self.stream.write(f"  (the algo finished: replay ended at {stats.events:,} events)")
            self.stream.write("\n")
        self.stream.flush()


def out_folder(request: BacktestRequest, out: str | None) -> Path:
    if out:
        return Path(out).expanduser()
    stamp = SYSTEM_CLOCK.now().strftime("%Y%m%d-%H%M%S")
    return DEFAULT_OUT / f"{request.algo}-{request.symbol}-{stamp}"


def backtest_main(options: dict[str, Any], *, stdout: Writer, stderr: Writer) -> dict[str, Any]:
    """Run one backtest from parsed options; print the report, write its files. Raises BacktestError."""
    request = request_from(options)
    folder = out_folder(request, options.get("out"))
    if folder.exists() and not folder.is_dir():
        raise BacktestError(f"--out {folder} exists and is not a folder")
    bar = None if options.get("no_progress") else ProgressBar(stderr, estimate_events(request))
    result = asyncio.run(backtest_run(request, progress=bar))
    if bar is not None:
        bar.draw(result.stats, done=True)
    report = report_build(result)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(plain(report), indent=2) + "\n", encoding="utf-8")
    chart = ChartData(title=f"{request.algo} {request.side} {request.quantity} {request.symbol} — {result.outcome}",
                      times_ms=result.stats.times_ms, mids=result.stats.mids,
                      fills=report["fill_list"])
    png_write(chart, folder / "chart.png")
    html_write(chart, folder / "chart.html")
    stdout.write(report_text(report) + "\n")
    stdout.write(f"  wrote {folder / 'report.json'}, {folder / 'chart.png'}, {folder / 'chart.html'}\n")
    return report
