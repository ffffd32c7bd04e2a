"""Bars for a strategy backtest: kline CSVs (Binance's or ../shared/data's) read once, coarser timeframes derived."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from algos.strategies.base import Bar
from simexchange.sources.binance_csv import csv_kind, read_klines_csv, symbol_from_csv_name

UNITS_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}
_TIMEFRAME = re.compile(r"^(\d+)([mhd])$")


class DataError(ValueError):
    """Data a backtest cannot use (missing file, not klines, a gap or overlap, a timeframe it cannot build)."""


def timeframe_ms(timeframe: str) -> int:
    match = _TIMEFRAME.match(timeframe)
    if match is None or int(match.group(1)) <= 0:
        raise DataError(f"unknown timeframe {timeframe!r}: use e.g. 1m, 5m, 15m, 1h, 1d")
    return int(match.group(1)) * UNITS_MS[match.group(2)]


def timeframe_name(interval_ms: int) -> str:
    for unit, size in (("d", UNITS_MS["d"]), ("h", UNITS_MS["h"]), ("m", UNITS_MS["m"])):
        if interval_ms % size == 0:
            return f"{interval_ms // size}{unit}"
    raise DataError(f"bars of {interval_ms} ms are not a whole number of minutes")


def kline_files(data: str) -> list[Path]:
    """PATH[,PATH...]: kline CSV files, or folders searched for them (funding and mark files skipped)."""
    found: list[Path] = []
    for part in (piece.strip() for piece in data.split(",") if piece.strip()):
        path = Path(part).expanduser()
        if not path.exists():
            raise DataError(f"data file {part!r} does not exist; give kline CSV files or a folder of them")
        candidates = sorted(path.glob("*.csv*")) if path.is_dir() else [path]
        for candidate in candidates:
            if "-mark" in candidate.name or "funding" in candidate.name:
                continue
            try:
                kind = csv_kind(candidate)
            except (ValueError, OSError) as exc:
                raise DataError(f"cannot read {candidate}: {exc}") from None
            if kind == "klines":
                found.append(candidate)
            elif not path.is_dir():
                raise DataError(f"{candidate} holds {kind}, not klines: a strategy backtest replays candles")
    if not found:
        raise DataError(f"no kline CSV in {data!r}")
    return found


def bars_load(path: Path, symbol: str | None = None) -> list[Bar]:
    """One symbol's bars from one kline file, checked gap-free and in order."""
    name = symbol or symbol_from_csv_name(path)
    bars: list[Bar] = []
    for kline in read_klines_csv(path, name):
        bars.append(Bar(name, "", kline.open_time_ms, kline.open_time_ms + kline.interval_ms - 1, kline.open,
                        kline.high, kline.low, kline.close, kline.volume))
    if not bars:
        raise DataError(f"{path} holds no candles")
    interval = bars[0].close_time_ms + 1 - bars[0].open_time_ms
    timeframe = timeframe_name(interval)
    for previous, bar in pairwise(bars):
        if bar.open_time_ms != previous.open_time_ms + interval:
            raise DataError(f"{path}: candle at {bar.open_time_ms} does not follow {previous.open_time_ms} "
                            f"by {timeframe} (a gap or an overlap)")
    return [Bar(b.symbol, timeframe, b.open_time_ms, b.close_time_ms, b.open, b.high, b.low, b.close, b.volume)
            for b in bars]


def bars_resample(bars: Sequence[Bar], timeframe: str) -> list[Bar]:
    """Coarser bars aligned to the epoch (15m bars open at :00, :15, ...); an incomplete first or last bar is
    dropped, so every bar is one the live feed would also have closed."""
    if not bars:
        return []
    size = timeframe_ms(timeframe)
    base = bars[0].close_time_ms + 1 - bars[0].open_time_ms
    if size % base or size < base:
        raise DataError(f"cannot build {timeframe} bars from {bars[0].timeframe} bars")
    per = size // base
    out: list[Bar] = []
    group: list[Bar] = []
    for bar in bars:
        if not group and bar.open_time_ms % size:
            continue  # before the first aligned boundary
        group.append(bar)
        if len(group) == per:
            out.append(Bar(bar.symbol, timeframe, group[0].open_time_ms, group[0].open_time_ms + size - 1,
                           group[0].open, max(b.high for b in group), min(b.low for b in group), bar.close,
                           sum((b.volume for b in group), Decimal(0))))
            group = []
    return out
