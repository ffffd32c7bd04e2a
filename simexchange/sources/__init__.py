"""Price sources of the simulated exchange: synthetic process, capture and CSV replays, pacing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

from simexchange.marketdata import MarketEvent
from simexchange.sources.base import PriceSource
from simexchange.sources.binance_csv import CsvReplay
from simexchange.sources.discovery import find_data_files
from simexchange.sources.marks import DerivedMarks
from simexchange.sources.ordering import OutOfOrderError, merge_by_event_time
from simexchange.sources.pacing import MAX_SPEED, paced, parse_speed
from simexchange.sources.synthetic import DEFAULT_SYMBOL_SPECS, SymbolSpec, SyntheticSource, spec_for
from simexchange.sources.ws_capture import CaptureReplay

__all__ = [
    "DEFAULT_SYMBOL_SPECS",
    "MAX_SPEED",
    "CaptureReplay",
    "CsvReplay",
    "DerivedMarks",
    "OutOfOrderError",
    "PriceSource",
    "SymbolSpec",
    "SyntheticSource",
    "paced",
    "parse_speed",
    "source_from_spec",
    "spec_for",
]

DEFAULT_SYNTHETIC_SYMBOLS = ("BTCUSDT", "ETHUSDT")


class MergedSource:
    """Several sources as one, merged in event-time order."""

    def __init__(self, sources: Sequence[PriceSource]) -> None:
        self.sources = tuple(sources)
        self.symbols = tuple(dict.fromkeys(symbol for source in self.sources for symbol in source.symbols))

    def __iter__(self) -> Iterator[MarketEvent]:
        return merge_by_event_time(self.sources)


def source_from_spec(
    spec: str,
    symbols: Sequence[str] = (),
    seed: int = 0,
    start_ms: int = 0,
    *,
    spread_ticks: int = 1,
    derive_marks: bool = True,
) -> PriceSource:
    """`synthetic` or PATH[,PATH...] (files or directories of .gz captures or Binance CSVs).

    The synthetic process starts at start_ms with seed; replays keep their recorded times and
    ignore both. symbols restricts a replay (empty: all found). Kline replays of known symbols use
    the DEFAULT_SYMBOL_SPECS grid, otherwise the file's. Unless derive_marks is False, replayed
    symbols without a recorded markPrice stream get one derived from the quote mid every second.
    """
    if spec.strip().lower() == "synthetic":
        specs = [spec_for(symbol) for symbol in (symbols or DEFAULT_SYNTHETIC_SYMBOLS)]
        return SyntheticSource(specs, seed=seed, start_ms=start_ms)
    files = find_data_files(spec, symbols)
    sources: list[PriceSource] = []
    captures = [found.path for found in files if found.kind == "capture"]
    if captures:
        sources.append(CaptureReplay(captures, symbols=symbols or None))
    csvs = [found.path for found in files if found.kind != "capture"]
    if csvs:
        grids: dict[str, tuple[Decimal, Decimal]] = {
            symbol: (known.tick_size, known.step_size) for symbol, known in DEFAULT_SYMBOL_SPECS.items()
        }
        sources.append(CsvReplay(csvs, symbols=symbols or None, grids=grids, spread_ticks=spread_ticks))
    source: PriceSource = sources[0] if len(sources) == 1 else MergedSource(sources)
    return DerivedMarks(source) if derive_marks else source
