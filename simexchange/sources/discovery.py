"""Finding the replayable files behind a `--source PATH[,PATH...]` and choosing one feed per symbol."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from simexchange.sources.binance_csv import csv_kind, interval_from_name, symbol_from_csv_name
from simexchange.sources.ws_capture import looks_like_capture, symbol_from_capture_name

_DATA_SUFFIXES = (".gz", ".csv", ".zip", ".dat")
# Mark, index and premium candles are not traded prices; funding files carry no prices at all.
_NOT_A_PRICE_FEED = ("mark", "index", "premium", "funding")


@dataclass(frozen=True, slots=True)
class DataFile:
    path: Path
    kind: str  # "capture" or a CsvKind
    symbol: str


def classify(path: Path) -> DataFile:
    if looks_like_capture(path):
        return DataFile(path, "capture", symbol_from_capture_name(path))
    return DataFile(path, csv_kind(path), symbol_from_csv_name(path))


def find_data_files(spec: str, symbols: Sequence[str] = ()) -> list[DataFile]:
    """Files named by spec (comma-separated files or directories), for the given symbols if any.

    A file named explicitly is always used; a directory contributes, per symbol, its tick-level
    files (captures, bookTicker, aggTrades) or else the finest-interval candles of that symbol.
    """
    wanted = {symbol.upper() for symbol in symbols}
    chosen: list[DataFile] = []
    for part in (piece.strip() for piece in spec.split(",") if piece.strip()):
        path = Path(part).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"price source {part!r} does not exist")
        if path.is_dir():
            chosen.extend(_from_directory(path, wanted))
        else:
            chosen.append(classify(path))
    chosen = [found for found in chosen if not wanted or found.symbol in wanted]
    if not chosen:
        raise ValueError(f"no replayable market data in {spec!r} for symbols {sorted(wanted) or 'any'}")
    return chosen


def _from_directory(directory: Path, wanted: set[str]) -> list[DataFile]:
    candidates = [
        classify(path)
        for path in sorted(directory.iterdir())
        if path.is_file()
        and path.name.lower().endswith(_DATA_SUFFIXES)
        and not any(word in path.name.lower() for word in _NOT_A_PRICE_FEED)
    ]
    candidates = [found for found in candidates if not wanted or found.symbol in wanted]
    chosen: list[DataFile] = []
    for symbol in dict.fromkeys(found.symbol for found in candidates):
        chosen.extend(_best_feed([found for found in candidates if found.symbol == symbol]))
    return chosen


def _best_feed(files: Iterable[DataFile]) -> list[DataFile]:
    files = list(files)
    tick_level = [found for found in files if found.kind in ("capture", "bookTicker", "aggTrades")]
    if tick_level:
        return tick_level
    klines = [found for found in files if found.kind == "klines"]
    if not klines:
        return []
    finest = min(interval_from_name(found.path) or 0 for found in klines)
    return [found for found in klines if (interval_from_name(found.path) or 0) == finest]
