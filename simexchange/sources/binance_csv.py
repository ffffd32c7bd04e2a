"""Replay of Binance's public CSV files: bookTicker, aggTrades and klines (with a synthetic spread)."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
import zipfile
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Literal

from simexchange.marketdata import BookTicker, MarketEvent, Trade
from simexchange.sources.kline_path import Kline, KlinePather, PathConfig
from simexchange.sources.ordering import DEFAULT_REORDER_WINDOW_MS, merge_by_event_time, reorder_by_event_time
from simexchange.sources.ws_capture import open_binary

CsvKind = Literal["bookTicker", "aggTrades", "klines", "fundingRate"]

_HEADER_KINDS: dict[str, CsvKind] = {
    "best_bid_price": "bookTicker",
    "agg_trade_id": "aggTrades",
    "open": "klines",
    "funding_rate": "fundingRate",
}
_INTERVAL_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_INTERVAL_IN_NAME = re.compile(r"-(\d+)([smhdw])(?=[-.])")
_SNIFF_ROWS = 200


def csv_rows(path: Path) -> Generator[list[str], None, None]:
    """Rows of a .csv, gzip'd .csv or Binance's .zip download (its first .csv member)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            member = next(name for name in archive.namelist() if name.endswith(".csv"))
            with archive.open(member) as raw:
                yield from csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        return
    with open_binary(path) as raw:
        yield from csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))


def _is_header(row: Sequence[str]) -> bool:
    return bool(row) and not row[0].strip().lstrip("-").isdigit()


def csv_kind(path: Path) -> CsvKind:
    """What a Binance CSV holds, from its header or, headerless, from its shape."""
    with contextlib.closing(csv_rows(path)) as rows:
        first = next(rows, [])
    if _is_header(first):
        for column, kind in _HEADER_KINDS.items():
            if column in first:
                return kind
        raise ValueError(f"{path}: unknown CSV header {first[:4]}")
    # Headerless bookTicker and aggTrades both have 7 columns; aggTrades ends in true/false.
    if len(first) == 7:
        return "aggTrades" if first[-1].strip().lower() in ("true", "false") else "bookTicker"
    if len(first) == 6 or len(first) >= 11:
        return "klines"
    raise ValueError(f"{path}: cannot tell what a {len(first)}-column CSV holds")


def symbol_from_csv_name(path: Path) -> str:
    """`BTCUSDT-1m-2024-07-18.csv` -> `BTCUSDT` (Binance's and freqtrade's naming)."""
    return re.split(r"[-_.]", path.name, maxsplit=1)[0].upper()


def interval_from_name(path: Path) -> int | None:
    """`BTCUSDT-5m.csv` -> 300000; None when the name carries no interval."""
    match = _INTERVAL_IN_NAME.search(path.name)
    return int(match.group(1)) * _INTERVAL_UNITS_MS[match.group(2)] if match else None


def _ms(text: str) -> int:
    value = int(text)
    return value // 1000 if value > 10**14 else value  # newer Binance files stamp microseconds


def _data_rows(path: Path) -> Generator[list[str], None, None]:
    rows = csv_rows(path)
    first = next(rows, None)
    if first is not None and not _is_header(first):
        yield first
    yield from (row for row in rows if row)


def read_book_ticker_csv(path: Path, symbol: str) -> Iterator[BookTicker]:
    """update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time."""
    for row in _data_rows(path):
        yield BookTicker(
            symbol=symbol,
            update_id=int(row[0]),
            bid_price=Decimal(row[1]),
            bid_qty=Decimal(row[2]),
            ask_price=Decimal(row[3]),
            ask_qty=Decimal(row[4]),
            transaction_time_ms=_ms(row[5]),
            event_time_ms=_ms(row[6]),
        )


def read_agg_trades_csv(path: Path, symbol: str) -> Iterator[Trade]:
    """agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker."""
    for row in _data_rows(path):
        at_ms = _ms(row[5])
        yield Trade(
            symbol=symbol,
            trade_id=int(row[0]),
            price=Decimal(row[1]),
            quantity=Decimal(row[2]),
            buyer_is_maker=row[6].strip().lower() == "true",
            trade_time_ms=at_ms,
            event_time_ms=at_ms,
        )


def read_klines_csv(path: Path, symbol: str, *, interval_ms: int | None = None) -> Iterator[Kline]:
    """open_time,open,high,low,close,volume[,close_time,...]; header optional.

    The bar length comes from interval_ms, else the file name, else close_time, else the first gap.
    """
    rows = _data_rows(path)
    head = list(itertools.islice(rows, 2))
    interval = interval_ms or interval_from_name(path)
    if interval is None and len(head) == 2 and len(head[0]) < 7:
        interval = _ms(head[1][0]) - _ms(head[0][0])
    for row in itertools.chain(head, rows):
        open_ms = _ms(row[0])
        length = interval or (_ms(row[6]) + 1 - open_ms if len(row) > 6 else 60_000)
        yield Kline(symbol, open_ms, length, *(Decimal(cell) for cell in row[1:6]))


def _decimals(text: str) -> int:
    exponent = Decimal(text).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def infer_grid(path: Path) -> tuple[Decimal, Decimal]:
    """(tick, step) from the most decimals among the first rows' prices and volumes."""
    with contextlib.closing(_data_rows(path)) as all_rows:
        rows = list(itertools.islice(all_rows, _SNIFF_ROWS))
    price_places = max((_decimals(cell) for row in rows for cell in row[1:5]), default=2)
    volume_places = max((_decimals(row[5]) for row in rows), default=3)
    return Decimal(1).scaleb(-price_places), Decimal(1).scaleb(-volume_places)


class CsvReplay:
    """Events from Binance CSV files merged in event-time order (ties keep the given file order).

    Kline files of one symbol are read one after another (sort their names chronologically) so the
    synthetic update and trade ids keep increasing; grids maps a symbol to its (tick, step), else
    the grid is inferred from the file.
    """

    def __init__(
        self,
        paths: Sequence[Path | str],
        *,
        symbols: Iterable[str] | None = None,
        grids: Mapping[str, tuple[Decimal, Decimal]] | None = None,
        spread_ticks: int = 1,
        steps_per_leg: int = 4,
        window_ms: int = DEFAULT_REORDER_WINDOW_MS,
    ) -> None:
        self.paths = tuple(Path(path) for path in paths)
        if not self.paths:
            raise ValueError("a CSV replay needs at least one file")
        self.kinds = {path: csv_kind(path) for path in self.paths}
        unusable = [str(path) for path, kind in self.kinds.items() if kind == "fundingRate"]
        if unusable:
            raise ValueError(f"funding-rate files carry no prices: {', '.join(unusable)}")
        names = tuple(dict.fromkeys(symbol_from_csv_name(path) for path in self.paths))
        self.symbols = tuple(symbol.upper() for symbol in symbols) if symbols else names
        self.grids = dict(grids or {})
        self.spread_ticks = spread_ticks
        self.steps_per_leg = steps_per_leg
        self.window_ms = window_ms

    def __iter__(self) -> Iterator[MarketEvent]:
        streams: list[Iterable[MarketEvent]] = []
        klines_by_symbol: dict[str, list[Path]] = {}
        for path in self.paths:
            symbol = symbol_from_csv_name(path)
            if symbol not in self.symbols:
                continue
            kind = self.kinds[path]
            if kind == "klines":
                klines_by_symbol.setdefault(symbol, []).append(path)
            else:
                reader = read_book_ticker_csv if kind == "bookTicker" else read_agg_trades_csv
                streams.append(reorder_by_event_time(reader(path, symbol), window_ms=self.window_ms, source=str(path)))
        streams.extend(
            # The buffer only checks here: kline paths are ordered unless two files overlap in time.
            reorder_by_event_time(self._kline_stream(symbol, files), window_ms=self.window_ms, source=symbol)
            for symbol, files in klines_by_symbol.items()
        )
        return merge_by_event_time(streams)

    def _kline_stream(self, symbol: str, files: list[Path]) -> Iterator[MarketEvent]:
        tick, step = self.grids.get(symbol) or infer_grid(files[0])
        pather = KlinePather(
            PathConfig(tick_size=tick, step_size=step, spread_ticks=self.spread_ticks, steps_per_leg=self.steps_per_leg)
        )
        for path in files:
            for kline in read_klines_csv(path, symbol):
                yield from pather.events(kline)
