"""Replaying Binance's public CSV files: bookTicker and aggTrades as recorded, klines as quote paths."""

from __future__ import annotations

import itertools
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from simexchange.marketdata import BookTicker, MarketEvent, Trade
from simexchange.sources import CsvReplay
from simexchange.sources.binance_csv import csv_kind, infer_grid, interval_from_name, read_klines_csv
from simexchange.sources.kline_path import Kline, KlinePather, PathConfig

KLINES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance-usdm-klines"
BTC = (Decimal("0.10"), Decimal("0.001"))
MINUTE = 60_000


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def mid(quote: BookTicker) -> Decimal:
    return (quote.bid_price + quote.ask_price) / 2


def quotes_of(events: list[MarketEvent]) -> list[BookTicker]:
    return [event for event in events if isinstance(event, BookTicker)]


def bar(open_: str, high: str, low: str, close: str, volume: str = "1.000") -> Kline:
    prices = (Decimal(open_), Decimal(high), Decimal(low), Decimal(close))
    return Kline("BTCUSDT", 1_751_760_000_000, MINUTE, *prices, Decimal(volume))


def path_of(kline: Kline, spread_ticks: int = 2) -> list[MarketEvent]:
    pather = KlinePather(PathConfig(tick_size=BTC[0], step_size=BTC[1], spread_ticks=spread_ticks))
    return list(pather.events(kline))


def test_a_book_ticker_csv_replays_its_rows_as_recorded(tmp_path: Path) -> None:
    path = write(
        tmp_path / "BTCUSDT-bookTicker-2024-07-18.csv",
        [
            "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time",
            "4984028367545,64000.10,1.500,64000.20,0.030,1721347022500,1721347022504",
        ],
    )
    assert list(CsvReplay([path])) == [
        BookTicker("BTCUSDT", 4984028367545, Decimal("64000.10"), Decimal("1.500"), Decimal("64000.20"),
                   Decimal("0.030"), transaction_time_ms=1721347022500, event_time_ms=1721347022504)
    ]  # fmt: skip
    assert [str(quote.bid_price) for quote in quotes_of(list(CsvReplay([path])))] == ["64000.10"]


def test_a_headerless_agg_trades_csv_is_recognised_and_replayed(tmp_path: Path) -> None:
    path = write(
        tmp_path / "BTCUSDT-aggTrades-2024-07-18.csv",
        ["100,64000.10,0.020,5,6,1721347022504,true", "101,64000.20,0.100,7,7,1721347022510,false"],
    )
    assert csv_kind(path) == "aggTrades"
    trades = list(CsvReplay([path]))
    assert trades == [
        Trade("BTCUSDT", 100, Decimal("64000.10"), Decimal("0.020"), True, 1721347022504, 1721347022504),
        Trade("BTCUSDT", 101, Decimal("64000.20"), Decimal("0.100"), False, 1721347022510, 1721347022510),
    ]


def test_quotes_and_trades_of_two_files_merge_in_event_time_order(tmp_path: Path) -> None:
    quotes = write(tmp_path / "BTCUSDT-bookTicker.csv", ["1,10.0,1,10.1,1,5,5", "2,10.0,1,10.1,1,20,20"])
    trades = write(tmp_path / "BTCUSDT-aggTrades.csv", ["1,10.1,1,1,1,10,false"])
    assert [event.event_time_ms for event in CsvReplay([quotes, trades])] == [5, 10, 20]


def test_a_zipped_download_is_read_like_its_csv(tmp_path: Path) -> None:
    archive = tmp_path / "BTCUSDT-aggTrades-2024-07-18.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("BTCUSDT-aggTrades-2024-07-18.csv", "1,10.1,1,1,1,10,false\n")
    assert [event.event_time_ms for event in CsvReplay([archive])] == [10]


def test_a_rising_bar_goes_to_the_low_first_then_the_high_and_ends_at_the_close() -> None:
    kline = bar("100.0", "103.0", "99.0", "102.0")
    mids = [mid(quote) for quote in quotes_of(path_of(kline))]
    assert mids[0] == kline.open
    assert mids.index(kline.low) < mids.index(kline.high)
    assert (min(mids), max(mids), mids[-1]) == (kline.low, kline.high, kline.close)


def test_a_falling_bar_goes_to_the_high_first() -> None:
    kline = bar("100.0", "103.0", "99.0", "99.5")
    mids = [mid(quote) for quote in quotes_of(path_of(kline))]
    assert mids.index(kline.high) < mids.index(kline.low)
    assert mids[-1] == kline.close


def test_the_synthetic_spread_is_the_configured_number_of_ticks_on_the_grid() -> None:
    for quote in quotes_of(path_of(bar("100.0", "103.0", "99.0", "102.0"), spread_ticks=3)):
        assert quote.ask_price - quote.bid_price == Decimal("0.30")
        assert quote.bid_price % BTC[0] == 0


def test_with_an_odd_spread_each_quote_straddles_its_path_price() -> None:
    kline = bar("100.0", "103.0", "99.0", "102.0")
    quotes = quotes_of(path_of(kline, spread_ticks=1))
    assert any(quote.bid_price == kline.high for quote in quotes)
    assert any(quote.bid_price == kline.low for quote in quotes)
    assert mid(quotes[-1]) == kline.close + Decimal("0.05")


def test_a_bars_quotes_and_trades_stay_inside_the_bar_and_its_volume_is_kept() -> None:
    kline = bar("100.0", "103.0", "99.0", "102.0", volume="1.234")
    events = path_of(kline)
    times = [event.event_time_ms for event in events]
    assert times == sorted(times)
    assert kline.open_time_ms <= times[0] and times[-1] < kline.open_time_ms + MINUTE
    trades = [event for event in events if isinstance(event, Trade)]
    assert sum(trade.quantity for trade in trades) == kline.volume
    assert {trade.price for trade in trades} >= {kline.open, kline.high, kline.low, kline.close}


def test_a_flat_bar_still_yields_one_quote() -> None:
    assert len(quotes_of(path_of(bar("100.0", "100.0", "100.0", "100.0", volume="0")))) == 1


def test_binances_twelve_column_klines_without_header_get_their_bar_length_from_close_time(tmp_path: Path) -> None:
    path = write(
        tmp_path / "BTCUSDT-klines.csv",
        ["1721347200000,64000.1,64010.0,63990.0,64005.0,12.5,1721347259999,800000,120,6,400000,0"],
    )
    assert csv_kind(path) == "klines"
    assert [kline.interval_ms for kline in read_klines_csv(path, "BTCUSDT")] == [MINUTE]


def test_the_interval_is_read_from_the_file_name() -> None:
    assert interval_from_name(Path("BTCUSDT-5m.csv")) == 5 * MINUTE
    assert interval_from_name(Path("BTCUSDT-1h-2024-07-18.csv")) == 60 * MINUTE
    assert interval_from_name(Path("BTCUSDT-klines.csv")) is None


def test_the_grid_of_an_unknown_symbol_is_inferred_from_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "XUSDT-1m.csv", ["open_time,open,high,low,close,volume", "0,1.2345,1.24,1.23,1.235,10.5"])
    assert infer_grid(path) == (Decimal("0.0001"), Decimal("0.1"))


def test_recorded_btc_klines_replay_as_quotes_touching_each_bars_high_and_low_and_ending_at_close(
    tmp_path: Path,
) -> None:
    source = KLINES / "BTCUSDT-1m.csv"
    if not source.exists():
        pytest.skip(f"recorded klines absent: {source}")
    with source.open() as recorded:
        head = list(itertools.islice(recorded, 121))  # header and two hours of minutes
    path = write(tmp_path / "BTCUSDT-1m.csv", [line.rstrip("\n") for line in head])
    events = list(CsvReplay([path], grids={"BTCUSDT": BTC}, spread_ticks=2))
    times = [event.event_time_ms for event in events]
    assert times == sorted(times)
    for kline in read_klines_csv(path, "BTCUSDT"):
        in_bar = [quote for quote in quotes_of(events) if 0 <= quote.event_time_ms - kline.open_time_ms < MINUTE]
        mids = [mid(quote) for quote in in_bar]
        assert (min(mids), max(mids), mids[-1]) == (kline.low, kline.high, kline.close)
