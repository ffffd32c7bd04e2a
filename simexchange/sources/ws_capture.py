"""Replay of raw Binance websocket captures (`<receive ts> <JSON>` lines, gzip) in exchange-time order."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from simexchange.marketdata import BookTicker, MarketEvent, MarkPrice, Trade
from simexchange.sources.ordering import DEFAULT_REORDER_WINDOW_MS, merge_by_event_time, reorder_by_event_time

# Prices stay Decimal(original string): str() gives the recorded text back, trailing zeros included,
# so a replayed stream can be re-sent byte-for-byte in its values.


def _book_ticker(data: dict[str, Any]) -> BookTicker:
    return BookTicker(
        symbol=data["s"],
        update_id=data["u"],
        bid_price=Decimal(data["b"]),
        bid_qty=Decimal(data["B"]),
        ask_price=Decimal(data["a"]),
        ask_qty=Decimal(data["A"]),
        transaction_time_ms=data["T"],
        event_time_ms=data["E"],
    )


def _trade(data: dict[str, Any]) -> Trade:
    return Trade(
        symbol=data["s"],
        trade_id=data["t"],
        price=Decimal(data["p"]),
        quantity=Decimal(data["q"]),
        buyer_is_maker=data["m"],
        trade_time_ms=data["T"],
        event_time_ms=data["E"],
    )


def _agg_trade(data: dict[str, Any]) -> Trade:
    # An aggTrade is replayed as one print; its aggregate id stands in for the trade id.
    return Trade(
        symbol=data["s"],
        trade_id=data["a"],
        price=Decimal(data["p"]),
        quantity=Decimal(data["q"]),
        buyer_is_maker=data["m"],
        trade_time_ms=data["T"],
        event_time_ms=data["E"],
    )


def _mark_price(data: dict[str, Any]) -> MarkPrice:
    return MarkPrice(
        symbol=data["s"],
        mark_price=Decimal(data["p"]),
        index_price=Decimal(data["i"]),
        estimated_settle_price=Decimal(data["P"]),
        funding_rate=Decimal(data["r"]),
        next_funding_time_ms=data["T"],
        event_time_ms=data["E"],
    )


_PARSERS: dict[str, Callable[[dict[str, Any]], MarketEvent]] = {
    "bookTicker": _book_ticker,
    "trade": _trade,
    "aggTrade": _agg_trade,
    "markPriceUpdate": _mark_price,
}


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, gunzipped when it is gzip (sniffed, whatever its name)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def looks_like_capture(path: Path) -> bool:
    """True if the first line is `<digits> {` or `{`: a websocket capture rather than a CSV file."""
    with open_binary(path) as stream:
        first = stream.readline(4096).lstrip()
    head, _, rest = first.partition(b" ")
    return first.startswith(b"{") or (head.isdigit() and rest.startswith(b"{"))


def _parse_line(line: bytes, symbols: frozenset[str] | None) -> MarketEvent | None:
    # Depth updates are most of the bytes: reject them before paying for JSON parsing.
    if b"@depth" in line[:120]:
        return None
    brace = line.find(b"{")
    if brace < 0:
        return None
    message = orjson.loads(line[brace:])
    data = message.get("data")
    if not isinstance(data, dict):  # the REST depth snapshot some files start with
        return None
    parser = _PARSERS.get(data.get("e", ""))
    if parser is None or (symbols is not None and data.get("s") not in symbols):
        return None
    return parser(data)


def read_capture_file(path: Path, symbols: Iterable[str] | None = None) -> Iterator[MarketEvent]:
    """The file's bookTicker, trade, aggTrade and markPrice events in file (receive) order."""
    wanted = None if symbols is None else frozenset(symbol.upper() for symbol in symbols)
    with open_binary(path) as stream:
        for line in stream:
            event = _parse_line(line, wanted)
            if event is not None:
                yield event


def symbol_from_capture_name(path: Path) -> str:
    """`btcusdt_20240718.gz` -> `BTCUSDT` (the recorder's naming)."""
    return path.name.split("_", 1)[0].split(".", 1)[0].upper()


class CaptureReplay:
    """Events of several capture files merged in exchange-time order (E; ties keep file then line order).

    Streams are read lazily: each file passes through a reorder buffer of window_ms, then a heap
    merges the files, so memory stays bounded whatever the capture length.
    """

    def __init__(
        self,
        paths: Sequence[Path | str],
        *,
        symbols: Iterable[str] | None = None,
        window_ms: int = DEFAULT_REORDER_WINDOW_MS,
    ) -> None:
        self.paths = tuple(Path(path) for path in paths)
        if not self.paths:
            raise ValueError("a capture replay needs at least one file")
        self.wanted = None if symbols is None else tuple(symbol.upper() for symbol in symbols)
        self.symbols = self.wanted or tuple(dict.fromkeys(symbol_from_capture_name(path) for path in self.paths))
        self.window_ms = window_ms

    def __iter__(self) -> Iterator[MarketEvent]:
        streams = [
            reorder_by_event_time(read_capture_file(path, self.wanted), window_ms=self.window_ms, source=str(path))
            for path in self.paths
        ]
        return merge_by_event_time(streams)
