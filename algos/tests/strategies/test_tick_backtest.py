"""Strategy backtests over ticks: a recorded capture (and the same quotes as a bookTicker CSV) drives the strategy
quote by quote, the runner aggregates its bars, orders meet the recorded book."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from algos.strategies.backtest.run import StrategyBacktestRequest, strategy_backtest_run
from simexchange.marketdata import BookTicker
from simexchange.sources.ws_capture import read_capture_file

D = Decimal
CAPTURE = Path("/work/shared/data/binance-usdm-ws/btcusdt_20240718.gz")  # 3 minutes of BTCUSDT, 2024-07-18
pytestmark = pytest.mark.skipif(not CAPTURE.exists(), reason="../shared/data websocket captures are not on this "
                                "machine")
SMA = {"timeframe": "10s", "fast": "3", "slow": "6", "quantity": "0.002"}


def run(data: Path | str, **options):
    return asyncio.run(strategy_backtest_run(StrategyBacktestRequest("sma_cross", str(data), params=SMA, **options)))


def test_a_capture_drives_the_strategy_tick_by_tick_with_bars_aggregated_by_the_runner():
    result = run(CAPTURE)

    assert result.status == "ran" and result.symbols == ("BTCUSDT",)
    assert result.ticks_delivered > 5_000  # every recorded bookTicker of the slice reached the runner
    assert 16 <= result.bars <= 19  # 10 s bars the runner closed over the ~3 minutes
    assert result.fills and result.fills[-1].position_after == 0
    strategy_fills = [f for f in result.fills if f.reason.startswith("SMA")]
    assert strategy_fills
    for fill in strategy_fills:  # a market order crosses the recorded spread: buys above the mid, sells below
        assert (fill.price > fill.decision_price) if fill.side == "buy" else (fill.price < fill.decision_price)


def test_a_tick_backtest_is_reproducible():
    first, second = run(CAPTURE), run(CAPTURE)
    assert [(f.time_ms, f.side, f.price, f.quantity) for f in first.fills] == \
        [(f.time_ms, f.side, f.price, f.quantity) for f in second.fills]
    assert first.final_equity == second.final_equity


def test_a_book_ticker_csv_of_the_same_quotes_trades_the_same(tmp_path):
    csv = tmp_path / "BTCUSDT-bookTicker-2024-07-18.csv"
    rows = ["update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time"]
    rows += [f"{q.update_id},{q.bid_price},{q.bid_qty},{q.ask_price},{q.ask_qty},{q.transaction_time_ms},"
             f"{q.event_time_ms}" for q in read_capture_file(CAPTURE, ["BTCUSDT"]) if isinstance(q, BookTicker)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")

    from_csv, from_capture = run(csv), run(CAPTURE)

    assert from_csv.ticks_delivered == from_capture.ticks_delivered
    assert [(f.time_ms, f.side, f.price) for f in from_csv.fills] == \
        [(f.time_ms, f.side, f.price) for f in from_capture.fills]
