"""Strategy backtests over ../shared/data klines: reproducible, fast, chaos that trips the breakers, stored results."""

from __future__ import annotations

import asyncio
import io
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from algos.strategies.backtest.analytics import report_build, report_text, round_trips
from algos.strategies.backtest.chaos import ChaosError, chaos_parse
from algos.strategies.backtest.cli import strategy_backtest_main
from algos.strategies.backtest.data import DataError, bars_load, bars_resample
from algos.strategies.backtest.run import StrategyBacktestError, StrategyBacktestRequest, strategy_backtest_run

D = Decimal
KLINES = Path("/work/shared/data/binance-usdm-klines/BTCUSDT-5m.csv")
needs_data = pytest.mark.skipif(not KLINES.exists(), reason="../shared/data BTCUSDT-5m klines are not on this machine")


def run(request: StrategyBacktestRequest):
    return asyncio.run(strategy_backtest_run(request))


@pytest.fixture(scope="module")
def short_klines(tmp_path_factory) -> Path:
    """The first 12 days of the recorded 5m klines (keeps the chaos runs short)."""
    if not KLINES.exists():
        pytest.skip("../shared/data BTCUSDT-5m klines are not on this machine")
    lines = KLINES.read_text(encoding="utf-8").splitlines()
    path = tmp_path_factory.mktemp("klines") / "BTCUSDT-5m.csv"
    path.write_text("\n".join(lines[:3457]) + "\n", encoding="utf-8")
    return path


@needs_data
def test_the_30_day_ensemble_backtest_is_reproducible_and_takes_under_10_seconds():
    request = StrategyBacktestRequest("ensemble", str(KLINES), seed=7)
    started = time.perf_counter()
    first = run(request)
    elapsed = time.perf_counter() - started
    second = run(request)
    assert first.bars == 8865 and first.status == "ran"
    assert len(first.fills) > 20
    assert [(f.time_ms, f.side, f.price, f.quantity) for f in first.fills] == \
        [(f.time_ms, f.side, f.price, f.quantity) for f in second.fills]
    assert first.final_equity == second.final_equity
    assert elapsed <= 10, f"the backtest took {elapsed:.1f} s"


@needs_data
def test_ticks_inside_the_quiet_band_are_not_sent_and_change_no_trade(short_klines, monkeypatch):
    banded = run(StrategyBacktestRequest("ensemble", str(short_klines)))
    from algos.strategies.ensemble.strategy import EnsembleStrategy

    monkeypatch.setattr(EnsembleStrategy, "quiet_band", lambda self, symbol: None)  # every point of every bar held
    walked = run(StrategyBacktestRequest("ensemble", str(short_klines)))
    assert len(banded.fills) > 20
    assert banded.fills == walked.fills and banded.final_equity == walked.final_equity
    assert list(banded.equity) == list(walked.equity)
    assert banded.ticks_delivered < walked.ticks_delivered


@needs_data
def test_the_report_adds_up_from_the_fills(short_klines):
    result = run(StrategyBacktestRequest("ensemble", str(short_klines)))
    report = report_build(result)
    trips = round_trips(result.fills)
    assert report["trades"] == len(trips) == report["wins"] + report["losses"]
    realized = sum((f.realized_pnl - f.fee for f in result.fills), D(0))
    assert D(report["total_pnl"]) == pytest.approx(realized, abs=D("0.0001"))  # flat at the end: all realized
    assert result.fills[-1].position_after == 0
    assert report["max_drawdown_pct"] >= 0 and 0 <= report["exposure"]["time_in_market_pct"] <= 100
    assert "circuit breakers: none tripped" in report_text(report)


@needs_data
def test_a_flooding_strategy_trips_the_order_rate_breaker_and_the_report_shows_it(short_klines):
    chaos = chaos_parse("flood@+5d/15", first_ms=bars_load(short_klines)[0].open_time_ms)
    result = run(StrategyBacktestRequest("ensemble", str(short_klines), chaos=(chaos,), max_orders_per_minute=20))
    report = report_build(result)
    assert result.status.startswith("halted by the risk engine")
    assert {row["trigger"] for row in report["breakers"]} == {"order_rate"}
    assert report["breakers"][0]["time_ms"] >= chaos.at_ms
    assert "circuit breakers tripped" in report_text(report) and "algo 1 -> halted (order_rate)" in report_text(report)
    assert result.last_ms < bars_load(short_klines)[-1].close_time_ms  # nothing ran after the halt


@needs_data
def test_a_flood_above_the_runners_limit_per_callback_is_stopped_by_isolation_as_live(short_klines):
    chaos = chaos_parse("flood@+5d/80", first_ms=bars_load(short_klines)[0].open_time_ms)
    result = run(StrategyBacktestRequest("ensemble", str(short_klines), chaos=(chaos,)))
    assert result.status.startswith("failed: ") and "emitted 80 signals at once; the limit is 20" in result.status
    assert not any(f.reason == "chaos flood" for f in result.fills) and not result.breakers
    assert result.last_ms < bars_load(short_klines)[-1].close_time_ms  # nothing ran after the failure


@needs_data
def test_a_strategy_that_raises_is_stopped_and_its_position_flattened(short_klines):
    chaos = chaos_parse("raise@+4d", first_ms=bars_load(short_klines)[0].open_time_ms)
    result = run(StrategyBacktestRequest("ensemble", str(short_klines), chaos=(chaos,)))
    assert result.status.startswith("failed: ") and "RuntimeError" in result.status
    assert all(f.time_ms <= chaos.at_ms + 300_000 for f in result.fills[:-1])
    assert not result.fills or result.fills[-1].position_after == 0


@needs_data
def test_an_exchange_rejecting_orders_reaches_the_strategy_as_refusals(short_klines):
    first = bars_load(short_klines)[0].open_time_ms
    chaos = chaos_parse("reject@+2d/86400", first_ms=first)
    result = run(StrategyBacktestRequest("ensemble", str(short_klines), chaos=(chaos,)))
    assert result.denials and all("Margin is insufficient" in d for d in result.denials)
    assert not any(chaos.at_ms <= f.time_ms < chaos.until_ms for f in result.fills)


@needs_data
def test_a_manual_kill_switch_halts_the_strategy(short_klines):
    chaos = chaos_parse("halt@+3d", first_ms=bars_load(short_klines)[0].open_time_ms)
    result = run(StrategyBacktestRequest("ensemble", str(short_klines), chaos=(chaos,)))
    assert [(b.trigger, b.state) for b in result.breakers] == [("manual", "halted")]
    assert result.status.startswith("halted")


@needs_data
def test_the_command_line_writes_report_charts_and_the_index(short_klines, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    report = strategy_backtest_main({"strategy": "ensemble", "data": str(short_klines), "results": str(tmp_path),
                                     "chaos": ["flood@+5d/15"], "max_orders_per_minute": 20,
                                     "no_progress": True}, stdout=out, stderr=err)
    index = json.loads((tmp_path / "index.json").read_text())
    assert len(index) == 1 and index[0]["breakers"] == len(report["breakers"]) >= 1
    folder = Path(index[0]["folder"])
    assert (folder / "equity.png").read_bytes()[:4] == b"\x89PNG"
    page = (folder / "equity.html").read_text()
    assert "<svg" in page and "<script" not in page and "order_rate" in page
    assert json.loads((folder / "report.json").read_text())["trades"] == report["trades"]
    assert "circuit breakers tripped" in out.getvalue()


def test_bad_requests_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(StrategyBacktestError, match="does not exist"):
        run(StrategyBacktestRequest("ensemble", str(tmp_path / "missing.csv")))
    with pytest.raises(StrategyBacktestError, match="capital"):
        run(StrategyBacktestRequest("ensemble", "x", capital=D(0)))
    gap = tmp_path / "BTCUSDT-5m.csv"
    gap.write_text("open_time,open,high,low,close,volume\n0,1,1,1,1,1\n600000,1,1,1,1,1\n")
    with pytest.raises(StrategyBacktestError, match="gap"):
        run(StrategyBacktestRequest("ensemble", str(gap)))


@needs_data
def test_an_unknown_strategy_or_parameter_is_refused(short_klines):
    from algos.strategies.backtest.registry import UnknownStrategyError

    with pytest.raises(UnknownStrategyError, match="unknown strategy"):
        run(StrategyBacktestRequest("nope", str(short_klines)))
    with pytest.raises(UnknownStrategyError, match="unknown ensemble parameters"):
        run(StrategyBacktestRequest("ensemble", str(short_klines), params={"colour": "red"}))


@pytest.mark.parametrize("text", ["boom@+1d", "flood+1d", "flood@yesterday", "reject@+1d/x"])
def test_bad_chaos_is_refused(text):
    with pytest.raises(ChaosError):
        chaos_parse(text, first_ms=0)


def test_15m_bars_are_built_from_aligned_5m_bars():
    from algos.strategies.base import Bar

    bars = [Bar("BTCUSDT", "5m", t, t + 299_999, D(10 + i), D(20 + i), D(5 - i), D(11 + i), D(1))
            for i, t in enumerate(range(300_000, 300_000 * 8, 300_000))]
    built = bars_resample(bars, "15m")
    # bars 2-4 (opening at 15 min) make the first 15m bar; bars 5-6 are an incomplete one: dropped
    assert [(b.open_time_ms, b.open, b.high, b.low, b.close, b.volume) for b in built] == [
        (900_000, D(12), D(24), D(1), D(15), D(3))]
    with pytest.raises(DataError, match="cannot build"):
        bars_resample(bars, "7m")


@needs_data
def test_manage_py_backtest_takes_a_strategy(short_klines, tmp_path):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("backtest", strategy="ensemble", data=str(short_klines), results=str(tmp_path), no_progress=True,
                 stdout=out)
    assert "strategy backtest: ensemble on BTCUSDT 5m" in out.getvalue()
    assert len(json.loads((tmp_path / "index.json").read_text())) == 1


@needs_data
def test_a_file_strategy_backtests_through_the_registry_and_the_runner_as_live(short_klines):
    result = run(StrategyBacktestRequest("sma_cross", str(short_klines),
                                         params={"timeframe": "15m", "quantity": "0.0027"}))
    assert result.status == "ran" and result.fills
    # the runner rounds every signal down to the step (0.0027 -> 0.002) before the OrderManager sees it
    assert {f.quantity for f in result.fills if f.reason.startswith("SMA5 ")} == {D("0.002")}
    assert result.fills[-1].position_after == 0


@needs_data
def test_a_signal_below_the_minimum_order_is_dropped_by_the_runner_with_its_reason(short_klines):
    result = run(StrategyBacktestRequest("sma_cross", str(short_klines),
                                         params={"timeframe": "15m", "quantity": "0.0004"}))
    assert not result.fills and result.dropped
    assert "0.0004 rounds to 0.000, below the minimum 0.001" in result.dropped[0]
