"""`--source synthetic|PATH`: choosing and composing a price source, and derived mark prices."""

from __future__ import annotations

import gzip
import itertools
import json
from decimal import Decimal
from pathlib import Path

import pytest

from simexchange.marketdata import BookTicker, MarketEvent, MarkPrice, Trade
from simexchange.sources import DerivedMarks, SyntheticSource, source_from_spec
from simexchange.sources.base import PriceSource

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def quote(at_ms: int, bid: str = "100.00", ask: str = "100.10", symbol: str = "BTCUSDT") -> BookTicker:
    return BookTicker(symbol, at_ms, Decimal(bid), Decimal("1"), Decimal(ask), Decimal("1"), at_ms, at_ms)


class Listed:
    """A fixed list of events as a PriceSource."""

    def __init__(self, events: list[MarketEvent]) -> None:
        self.events = events
        self.symbols = tuple(dict.fromkeys(event.symbol for event in events))

    def __iter__(self):
        return iter(self.events)


def marks_of(source: PriceSource) -> list[MarkPrice]:
    return [event for event in source if isinstance(event, MarkPrice)]


def write_capture(path: Path, quotes: list[BookTicker]) -> Path:
    lines = [
        json.dumps({"stream": "x@bookTicker", "data": {"e": "bookTicker", "u": q.update_id, "s": q.symbol,
                    "b": str(q.bid_price), "B": "1", "a": str(q.ask_price), "A": "1", "T": q.event_time_ms,
                    "E": q.event_time_ms}})
        for q in quotes
    ]  # fmt: skip
    with gzip.open(path, "wt") as stream:
        stream.write("".join(f"1 {line}\n" for line in lines))
    return path


def test_synthetic_gives_the_requested_symbols_from_the_start_time() -> None:
    source = source_from_spec("synthetic", ["ETHUSDT", "SOLUSDT"], seed=3, start_ms=1_000_000)
    assert isinstance(source, SyntheticSource)
    assert source.symbols == ("ETHUSDT", "SOLUSDT")
    first = next(iter(source))
    assert first.event_time_ms == 1_000_000


def test_synthetic_without_symbols_trades_btc_and_eth() -> None:
    assert source_from_spec("synthetic").symbols == ("BTCUSDT", "ETHUSDT")


def test_a_missing_path_is_reported_by_name() -> None:
    with pytest.raises(FileNotFoundError, match="no/such/place"):
        source_from_spec("no/such/place")


def test_a_capture_directory_replays_the_wanted_symbol_with_derived_marks(tmp_path: Path) -> None:
    write_capture(tmp_path / "btcusdt_1.gz", [quote(500), quote(2_500, "100.20", "100.30")])
    write_capture(tmp_path / "ethusdt_1.gz", [quote(700, symbol="ETHUSDT")])
    source = source_from_spec(str(tmp_path), ["BTCUSDT"])
    assert source.symbols == ("BTCUSDT",)
    events = list(source)
    assert {event.symbol for event in events} == {"BTCUSDT"}
    assert [(mark.event_time_ms, mark.mark_price) for mark in marks_of(source)] == [
        (1_000, Decimal("100.05000000")),
        (2_000, Decimal("100.05000000")),
    ]


def test_comma_separated_files_of_both_kinds_merge_into_one_stream(tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "btcusdt_1.gz", [quote(10), quote(30)])
    csv = tmp_path / "BTCUSDT-aggTrades.csv"
    csv.write_text("1,100.10,1,1,1,20,false\n")
    source = source_from_spec(f"{capture},{csv}", derive_marks=False)
    assert [type(event) for event in source] == [BookTicker, Trade, BookTicker]


def test_a_klines_directory_uses_the_finest_candles_and_skips_mark_and_funding_files() -> None:
    directory = DATA / "binance-usdm-klines"
    if not directory.exists():
        pytest.skip(f"recorded klines absent: {directory}")
    source = source_from_spec(str(directory), ["BTCUSDT"], spread_ticks=2)
    assert source.symbols == ("BTCUSDT",)
    first_minute = list(itertools.takewhile(lambda event: event.event_time_ms < 1751760060000, source))
    quotes = [event for event in first_minute if isinstance(event, BookTicker)]
    # The first 1m bar: open 108153.4, high 108167.0, low 108153.3, close 108167.0 on BTC's 0.10 grid.
    assert quotes[0].bid_price == Decimal("108153.30")
    assert max(quote.ask_price for quote in quotes) == Decimal("108167.10")
    assert marks_of(Listed(first_minute))


def test_a_recorded_mark_stream_suppresses_derived_marks() -> None:
    recorded = MarkPrice("BTCUSDT", Decimal("1"), Decimal("1"), Decimal("1"), Decimal("0.0001"), 0, 1_500)
    events: list[MarketEvent] = [quote(100), recorded, quote(2_100), quote(3_100)]
    assert [mark.event_time_ms for mark in marks_of(DerivedMarks(Listed(events)))] == [1_000, 1_500]


def test_derived_marks_leave_a_gap_in_the_data_unfilled() -> None:
    events: list[MarketEvent] = [quote(0), quote(900), quote(10_000_000)]
    derived = marks_of(DerivedMarks(Listed(events), stale_ms=5_000))
    assert [mark.event_time_ms for mark in derived] == [0]


def test_derived_marks_carry_the_next_funding_time() -> None:
    (mark,) = marks_of(DerivedMarks(Listed([quote(28_800_000 - 1), quote(28_800_000 + 1)])))
    assert (mark.event_time_ms, mark.next_funding_time_ms) == (28_800_000, 57_600_000)
