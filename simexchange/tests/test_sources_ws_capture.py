"""Replaying raw Binance websocket captures in exchange-time order with the recorded values intact."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from simexchange.marketdata import BookTicker, MarketEvent, MarkPrice, Trade
from simexchange.sources import CaptureReplay, OutOfOrderError
from simexchange.sources.ws_capture import looks_like_capture, read_capture_file

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance-usdm-ws"
BTC_2024 = [DATA / "btcusdt_20240718.gz", DATA / "btcusdt_20240719.gz"]


def require(paths: list[Path]) -> list[Path]:
    missing = [path.name for path in paths if not path.exists()]
    if missing:
        pytest.skip(f"recorded captures absent from {DATA}: {', '.join(missing)}")
    return paths


def book_ticker_json(paths: list[Path]) -> list[dict[str, object]]:
    """The recorded bookTicker payloads, straight from the files with the stdlib parser."""
    payloads = []
    for path in paths:
        with gzip.open(path, "rt") as stream:
            for line in stream:
                message = json.loads(line.partition(" ")[2])
                if message.get("data", {}).get("e") == "bookTicker":
                    payloads.append(message["data"])
    return payloads


def as_payload(quote: BookTicker) -> dict[str, object]:
    """The websocket payload as a server would write it: f"{value:f}" never switches to exponents."""
    return {
        "e": "bookTicker",
        "u": quote.update_id,
        "s": quote.symbol,
        "b": f"{quote.bid_price:f}",
        "B": f"{quote.bid_qty:f}",
        "a": f"{quote.ask_price:f}",
        "A": f"{quote.ask_qty:f}",
        "T": quote.transaction_time_ms,
        "E": quote.event_time_ms,
    }


def write_capture(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt") as stream:
        stream.write("".join(line + "\n" for line in lines))
    return path


def envelope(stream: str, data: dict[str, object], received: int = 1) -> str:
    return f"{received} " + json.dumps({"stream": stream, "data": data})


def quote_data(update_id: int, event_ms: int, symbol: str = "BTCUSDT") -> dict[str, object]:
    return {"e": "bookTicker", "u": update_id, "s": symbol, "b": "64000.10", "B": "1.000",
            "a": "64000.20", "A": "2.500", "T": event_ms, "E": event_ms}  # fmt: skip


def test_the_2024_btc_capture_replays_every_recorded_book_ticker_in_exchange_time_order() -> None:
    events = list(CaptureReplay(require(BTC_2024)))
    quotes = [event for event in events if isinstance(event, BookTicker)]
    assert len(quotes) == 52_260
    assert sum(isinstance(event, Trade) for event in events) == 10_701
    times = [event.event_time_ms for event in events]
    assert times == sorted(times)


def test_replayed_book_tickers_reproduce_the_recorded_payloads_exactly() -> None:
    paths = require(BTC_2024)
    recorded = book_ticker_json(paths)
    replayed = [as_payload(event) for event in CaptureReplay(paths) if isinstance(event, BookTicker)]
    # The replay is sorted by E; a stable sort of the recording by E must give the same sequence.
    assert replayed == sorted(recorded, key=lambda payload: payload["E"])  # type: ignore[arg-type, return-value]


def test_a_decimal_keeps_the_recorded_text_including_trailing_zeros() -> None:
    assert str(Decimal("64123.40")) == "64123.40"
    assert str(Decimal("0.000")) == "0.000"
    assert f"{Decimal('0.00000005'):f}" == "0.00000005"  # where str() would give "5E-8"


def test_two_symbols_merge_in_exchange_time_order() -> None:
    paths = require([*BTC_2024, DATA / "ethusdt_20240718.gz", DATA / "ethusdt_20240719.gz"])
    events = list(CaptureReplay(paths))
    assert Counter(event.symbol for event in events if isinstance(event, BookTicker)) == {
        "BTCUSDT": 52_260,
        "ETHUSDT": 47_328,
    }
    times = [event.event_time_ms for event in events]
    assert times == sorted(times)


def test_the_2023_capture_replays_mark_prices_with_funding() -> None:
    paths = require([DATA / "btcusdt_20230404.dat.gz", DATA / "btcusdt_20230405.dat.gz"])
    marks = {event.event_time_ms: event for event in CaptureReplay(paths) if isinstance(event, MarkPrice)}
    assert len(marks) == 514
    after_funding = marks[1680652801000]
    assert str(after_funding.mark_price) == "28155.20000000"
    assert str(after_funding.index_price) == "28165.15571429"
    assert str(after_funding.funding_rate) == "0.00002760"
    assert after_funding.next_funding_time_ms == 1680681600000


def test_depth_updates_and_the_rest_snapshot_line_are_skipped(tmp_path: Path) -> None:
    path = write_capture(
        tmp_path / "btcusdt_x.gz",
        [
            envelope("btcusdt@depth@0ms", {"e": "depthUpdate", "E": 5, "T": 5, "s": "BTCUSDT", "b": [], "a": []}),
            '2 {"lastUpdateId": 9, "E": 6, "T": 6, "bids": [["1.0", "1"]], "asks": []}',
            envelope("btcusdt@bookTicker", quote_data(10, 7)),
        ],
    )
    assert [event.update_id for event in read_capture_file(path)] == [10]  # type: ignore[union-attr]


def test_a_trade_keeps_its_id_side_and_strings(tmp_path: Path) -> None:
    trade = {"e": "trade", "E": 9, "T": 8, "s": "BTCUSDT", "t": 77, "p": "64000.10", "q": "0.020", "X": "MARKET",
             "m": True}  # fmt: skip
    path = write_capture(tmp_path / "btcusdt_t.gz", [envelope("btcusdt@trade", trade)])
    assert list(read_capture_file(path)) == [
        Trade("BTCUSDT", 77, Decimal("64000.10"), Decimal("0.020"), True, trade_time_ms=8, event_time_ms=9)
    ]


def test_streams_that_disagree_by_a_few_ms_come_out_sorted_ties_in_file_order(tmp_path: Path) -> None:
    path = write_capture(
        tmp_path / "btcusdt_y.gz",
        [envelope("btcusdt@bookTicker", quote_data(update_id, at)) for update_id, at in [(1, 100), (2, 90), (3, 100)]],
    )
    replayed: list[MarketEvent] = list(CaptureReplay([path]))
    assert [event.update_id for event in replayed] == [2, 1, 3]  # type: ignore[union-attr]


def test_an_event_later_than_the_reorder_window_fails_loudly(tmp_path: Path) -> None:
    path = write_capture(
        tmp_path / "btcusdt_z.gz",
        [
            envelope("btcusdt@bookTicker", quote_data(update_id, at))
            for update_id, at in [(1, 0), (2, 5_000), (3, 6_000), (4, 10)]
        ],
    )
    with pytest.raises(OutOfOrderError):
        list(CaptureReplay([path], window_ms=1_000))


def test_a_symbol_filter_keeps_only_that_symbols_events(tmp_path: Path) -> None:
    path = write_capture(
        tmp_path / "mixed.gz",
        [envelope("x@bookTicker", quote_data(1, 1, "BTCUSDT")), envelope("y@bookTicker", quote_data(2, 2, "ETHUSDT"))],
    )
    assert [event.symbol for event in CaptureReplay([path], symbols=["ethusdt"])] == ["ETHUSDT"]


def test_a_capture_is_told_apart_from_a_csv_by_its_first_line(tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "a.gz", [envelope("x@bookTicker", quote_data(1, 1))])
    csv = tmp_path / "b.csv"
    csv.write_text("update_id,best_bid_price\n1,2\n")
    assert looks_like_capture(capture)
    assert not looks_like_capture(csv)
