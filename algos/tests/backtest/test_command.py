"""`manage.py backtest` end to end on synthetic and CSV data: report figures agree with the fills, files written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

D = Decimal
REPO = Path(__file__).resolve().parents[3]


def backtest(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "out"
    call_command("backtest", *args, "--out", str(out), "--no-progress")
    return json.loads((out / "report.json").read_text())


def check_report_against_fills(report: dict[str, Any]) -> None:
    """The headline figures are recomputed from the fill list."""
    algo_fills = [fill for fill in report["fill_list"] if fill["by_algo"]]
    assert report["fills"] == len(algo_fills)
    assert D(report["filled_quantity"]) == sum((D(fill["quantity"]) for fill in algo_fills), D(0))
    for side, figures in report["by_side"].items():
        mine = [fill for fill in algo_fills if fill["side"] == side]
        quantity = sum((D(fill["quantity"]) for fill in mine), D(0))
        average = sum((D(fill["price"]) * D(fill["quantity"]) for fill in mine), D(0)) / quantity
        assert D(figures["quantity"]) == quantity and D(figures["average_price"]) == average
        reference = D(report["reference_mid"])
        worse = average - reference if side == "buy" else reference - average
        assert D(figures["slippage_bps"]) == (worse / reference * 10_000).quantize(D("0.01"))
    trace_places = [row for row in report["trace"] if row["kind"] == "order_place"]
    assert report["orders_sent"] == len(trace_places)
    assert D(report["fees"]) == sum((D(fill["fee"]) for fill in report["fill_list"]), D(0))


def check_charts(folder: Path, fills: int) -> None:
    png = (folder / "chart.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    page = (folder / "chart.html").read_text()
    assert "<svg" in page and "<polyline" in page and page.count("<polygon class='fill") == fills
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_a_chase_on_synthetic_data_fills_and_its_report_agrees_with_its_fills(tmp_path: Path) -> None:
    report = backtest(tmp_path, "--algo", "chase", "--data", "synthetic", "--seed", "7", "--side", "sell",
                      "--quantity", "0.020", "--param", "stalk_mode=maintain", "--param", "offset_ticks=20")
    assert report["outcome"] == "filled" and D(report["filled_quantity"]) == D("0.020")
    assert report["reprices"] > 0 and report["orders_sent"] == report["reprices"] + 1
    assert D(report["position_after"]) == D("-0.020")
    check_report_against_fills(report)
    check_charts(tmp_path / "out", len(report["fill_list"]))


def test_a_twap_on_synthetic_data_trades_exactly_its_total_in_its_lots(tmp_path: Path) -> None:
    report = backtest(tmp_path, "--algo", "twap", "--data", "synthetic", "--seed", "3", "--quantity", "0.070",
                      "--param", "lots=7", "--param", "interval_s=20", "--param", "irregular=true")
    assert report["outcome"] == "completed"
    assert D(report["filled_quantity"]) == D("0.070") == D(report["position_after"])
    assert report["orders_sent"] == 7 and report["by_side"]["buy"]["quantity"] == "0.070"
    check_report_against_fills(report)
    check_charts(tmp_path / "out", len(report["fill_list"]))


def test_a_trail_stop_closes_the_position_it_was_given_and_books_its_pnl(tmp_path: Path) -> None:
    report = backtest(tmp_path, "--algo", "trail", "--data", "synthetic", "--seed", "5", "--side", "buy",
                      "--quantity", "0.010", "--param", "trail_pct=0.05")
    assert report["outcome"] == "triggered" and D(report["position_after"]) == 0
    entry = next(fill for fill in report["fill_list"] if not fill["by_algo"])
    closes = [fill for fill in report["fill_list"] if fill["by_algo"]]
    assert entry["side"] == "buy" and {fill["side"] for fill in closes} == {"sell"}
    pnl = sum(((D(fill["price"]) - D(entry["price"])) * D(fill["quantity"]) for fill in closes), D(0))
    assert D(report["realized_pnl"]) == pnl
    check_report_against_fills(report)
    check_charts(tmp_path / "out", 1 + len(closes))


def test_a_scalper_on_synthetic_data_trades_both_sides(tmp_path: Path) -> None:
    report = backtest(tmp_path, "--algo", "scalper", "--data", "synthetic", "--seed", "2", "--quantity", "0.040",
                      "--duration", "600", "--keep-going")
    assert report["orders_sent"] > 0
    check_report_against_fills(report)


def test_a_twap_replays_binance_book_ticker_and_agg_trade_csvs(tmp_path: Path) -> None:
    book = tmp_path / "BTCUSDT-bookTicker-2024-07-18.csv"
    rows = ["update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time"]
    rows += [f"{i},{60000 + i % 7}.0,1.5,{60000 + i % 7}.1,2.0,{1721260800000 + i * 250},{1721260800000 + i * 250}"
             for i in range(1, 800)]
    book.write_text("\n".join(rows) + "\n")
    report = backtest(tmp_path, "--algo", "twap", "--data", str(book), "--quantity", "0.030", "--param", "lots=3",
                      "--param", "interval_s=30")
    assert report["outcome"] == "completed" and D(report["filled_quantity"]) == D("0.030")
    trades = tmp_path / "ETHUSDT-aggTrades-2024-07-18.csv"
    rows = ["agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"]
    rows += [f"{i},{3400 + (i % 5) / 100:.2f},0.5,{i},{i},{1721260800000 + i * 300},{'true' if i % 2 else 'false'}"
             for i in range(1, 600)]
    trades.write_text("\n".join(rows) + "\n")
    report = backtest(tmp_path, "--algo", "twap", "--data", str(trades), "--symbol", "ETHUSDT", "--quantity", "0.300",
                      "--param", "lots=3", "--param", "interval_s=30")
    assert report["outcome"] == "completed" and D(report["filled_quantity"]) == D("0.300")
    check_report_against_fills(report)


@pytest.mark.parametrize(("args", "message"), [
    (["--algo", "vwap", "--data", "synthetic"], "unknown algo 'vwap'"),
    (["--algo", "chase", "--data", "/no/such/capture.gz"], "data file '/no/such/capture.gz' does not exist"),
    (["--algo", "chase", "--data", "synthetic", "--param", "stalk_mode=sideways"],
     "stalk_mode must be none, maintain or trail"),
    (["--algo", "chase", "--data", "synthetic", "--param", "offset_ticks=-3"], "offset_ticks must be within 0..1000"),
    (["--algo", "chase", "--data", "synthetic", "--quantity", "0.0105"], "not a multiple of the step size 0.001"),
    (["--algo", "chase", "--data", "synthetic", "--quantity", "0.001"], "below the minimum order value"),
    (["--algo", "twap", "--data", "synthetic", "--param", "lots=0"], "lots must be within 1..1000"),
    (["--algo", "trail", "--data", "synthetic"], "trail_pct is required"),
    (["--algo", "chase", "--data", "synthetic", "--symbol", "DOGEUSDT"], "unknown symbol 'DOGEUSDT'"),
    (["--algo", "chase", "--data", "synthetic", "--param", "offset_ticks"], "--param takes NAME=VALUE"),
    (["--algo", "chase", "--data", "synthetic", "--speed", "fast"], "--speed"),
])
def test_bad_input_is_refused_with_what_to_change_and_writes_nothing(tmp_path: Path, args: list[str],
                                                                      message: str) -> None:
    with pytest.raises(CommandError, match=message.replace(".", r"\.").replace("(", r"\(")):
        call_command("backtest", *args, "--out", str(tmp_path / "out"), "--no-progress")
    assert not (tmp_path / "out").exists()


def test_the_backtest_runs_without_django_settings_database_or_redis(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    done = subprocess.run(
        [sys.executable, "-m", "algos.backtest", "--algo", "chase", "--data", "synthetic", "--quantity", "0.010",
         "--out", str(tmp_path / "out")], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "backtest chase buy 0.010 BTCUSDT on synthetic" in done.stdout
    assert "100%" in done.stderr and "events" in done.stderr  # the progress bar
