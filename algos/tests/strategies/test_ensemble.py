"""The ensemble's rules: combination, exits, limits, asset priority, learning, parameters, live/backtest parity."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from algos.strategies.base import Bar, RiskBreach, StrategyContext, StrategyFill, Tick
from algos.strategies.ensemble.combine import TimeframeSignal, Vote, timeframes_combine, votes_combine
from algos.strategies.ensemble.exits import ExitParams, exit_plan, split_quantity
from algos.strategies.ensemble.learning import Learner, TradeRecord
from algos.strategies.ensemble.limits import EntryGuard, LimitParams
from algos.strategies.ensemble.params import ParameterError, params_from
from algos.strategies.ensemble.strategy import EnsembleStrategy
from trading.domain.instruments import InstrumentRules
from trading.domain.types import Side

D = Decimal
KLINES = Path("/work/shared/data/binance-usdm-klines/BTCUSDT-5m.csv")
RULES = {s: InstrumentRules(s, tick_size=D("0.1") if s == "BTCUSDT" else D("0.01"), step_size=D("0.001"),
                            min_qty=D("0.001"), max_qty=D(1000), min_notional=D(5)) for s in ("BTCUSDT", "SOLUSDT")}


# -- combination -------------------------------------------------------------------------------------
def test_agreeing_timeframes_boost_the_primary_confidence_by_1_3():
    combined = timeframes_combine(TimeframeSignal(1, 0.6, ("trend",)), TimeframeSignal(1, 0.7, ("momentum",)))
    assert combined.direction == 1 and combined.confidence == pytest.approx(0.78)


def test_the_boost_is_capped_at_99_percent():
    assert timeframes_combine(TimeframeSignal(-1, 0.9), TimeframeSignal(-1, 0.9)).confidence == pytest.approx(0.99)


def test_conflicting_timeframes_skip():
    assert timeframes_combine(TimeframeSignal(1, 0.9), TimeframeSignal(-1, 0.9)).direction == 0


def test_a_secondary_signal_acts_alone_only_above_85_percent():
    assert timeframes_combine(TimeframeSignal(0, 0.0), TimeframeSignal(1, 0.86)).direction == 1
    assert timeframes_combine(TimeframeSignal(0, 0.0), TimeframeSignal(1, 0.85)).direction == 0


def test_weighted_votes_hand_computed():
    votes = [Vote("trend", 1, 0.8), Vote("momentum", 1, 0.7), Vote("vwap", -1, 0.6), Vote("breakout", 0, 0.0),
             Vote("mean_reversion", 0, 0.0)]
    weights = {"trend": 2.0, "momentum": 1.0, "vwap": 1.0, "breakout": 1.0, "mean_reversion": 1.0}
    signal = votes_combine(votes, weights)
    # winners: (2 x 0.8 + 0.7) / 3 = 0.7667; share 3/4; support 0.5 + 0.5 x min(1, 3 / (0.6 x 6)) = 0.9167
    assert signal.direction == 1 and signal.voters == ("trend", "momentum")
    assert signal.confidence == pytest.approx((2.3 / 3) * 0.75 * (0.5 + 0.5 * 3 / 3.6))


# -- exits ---------------------------------------------------------------------------------------------
def long_plan(**overrides):
    params = ExitParams(**overrides)
    return exit_plan(direction=1, entry=D(100), quantity=D("0.300"), atr=D(2), params=params, tick=D("0.1"),
                     step=D("0.001"), min_qty=D("0.001"))


def test_the_atr_stop_is_one_and_a_half_atr_below_a_long_entry():
    plan = long_plan()
    assert plan.stop == D(97)
    assert plan.take_profits == [D(102), D(104), D(106)]
    assert plan.on_price(D("97.0"))[0].reason == "stop"


def test_a_fixed_stop_is_a_percentage_of_the_entry():
    assert long_plan(stop_mode="fixed", stop_fixed_pct=D(2)).stop == D(98)


def test_three_take_profits_close_33_33_34_percent():
    plan = long_plan(trail_activation_pct=D(50))  # no trail in the way
    exits = [plan.on_price(D(p)) for p in ("102", "104", "106")]
    assert [[(e.quantity, e.reason) for e in step] for step in exits] == [
        [(D("0.099"), "tp1")], [(D("0.099"), "tp2")], [(D("0.102"), "tp3")]]
    assert plan.done and plan.remaining == 0


def test_the_trailing_stop_activates_at_0_3_percent_and_trails_0_15_percent():
    plan = long_plan()
    assert plan.on_price(D("100.29")) == [] and plan.trail_stop is None
    assert plan.on_price(D("100.30")) == [] and plan.trail_stop == D("100.30") * (1 - D("0.0015"))
    plan.on_price(D("101.00"))
    assert plan.trail_stop == D("101.00") * (1 - D("0.0015"))
    exits = plan.on_price(D("100.84"))
    assert [(e.quantity, e.reason) for e in exits] == [(D("0.300"), "trailing_stop")]


def test_a_short_plan_mirrors_the_long_one():
    plan = exit_plan(direction=-1, entry=D(100), quantity=D("0.1"), atr=D(2), params=ExitParams(), tick=D("0.1"),
                     step=D("0.001"), min_qty=D("0.001"))
    assert plan.stop == D("103.1") and plan.take_profits[0] == D(98)
    assert plan.on_price(D("103.1"))[0].reason == "stop"


def test_a_partial_below_the_minimum_folds_into_the_next():
    assert split_quantity(D("0.002"), (D("0.33"), D("0.33"), D("0.34")), D("0.001"), D("0.001")) == [
        D(0), D(0), D("0.002")]


def test_the_quiet_band_holds_exactly_the_prices_that_change_nothing():
    plan = long_plan()
    low, high = plan.quiet_band()
    assert (low, high) == (D(97), D("100.3"))
    assert plan.on_price(D("99")) == [] and plan.trail_stop is None


# -- limits ----------------------------------------------------------------------------------------------
def refusal(guard: EntryGuard, **arguments) -> str:
    return guard.refusal(**arguments) or ""


def test_two_positions_at_most_and_one_per_asset():
    guard = EntryGuard(LimitParams())
    guard.record_equity(0, D(10000))
    assert "one per asset" in refusal(guard, now_ms=0, symbol="BTCUSDT", equity=D(10000), open_symbols={"BTCUSDT"})
    assert "max 2" in refusal(guard, now_ms=0, symbol="SOLUSDT", equity=D(10000), open_symbols={"BTCUSDT", "ETHUSDT"})
    assert guard.refusal(now_ms=0, symbol="SOLUSDT", equity=D(10000), open_symbols={"BTCUSDT"}) is None


def test_a_5_percent_daily_loss_stops_entries_until_the_next_day():
    guard = EntryGuard()
    guard.record_equity(1_000, D(10000))
    assert guard.refusal(now_ms=2_000, symbol="BTCUSDT", equity=D(9501), open_symbols=()) is None
    assert "daily loss 5.00 %" in refusal(guard, now_ms=2_000, symbol="BTCUSDT", equity=D(9500), open_symbols=())
    guard.record_equity(86_400_000 + 1, D(9500))  # a new day opens at the current equity
    assert guard.refusal(now_ms=86_400_001, symbol="BTCUSDT", equity=D(9500), open_symbols=()) is None


def test_an_8_percent_drawdown_from_the_peak_stops_entries():
    guard = EntryGuard()
    guard.record_equity(0, D(10000))
    guard.record_equity(86_400_000, D(10000))
    guard.record_equity(2 * 86_400_000, D(9400))
    guard.record_equity(3 * 86_400_000, D(9200))
    assert "drawdown 8.00 %" in refusal(guard, now_ms=3 * 86_400_000, symbol="BTCUSDT", equity=D(9200),
                                              open_symbols=())


def test_twenty_entries_an_hour():
    guard = EntryGuard()
    for minute in range(20):
        guard.note_entry(minute * 60_000)
    assert "20 entries" in refusal(guard, now_ms=30 * 60_000, symbol="BTCUSDT", equity=D(1), open_symbols=())
    assert guard.refusal(now_ms=60 * 60_000 + 1, symbol="BTCUSDT", equity=D(1), open_symbols=()) is None


# -- learning --------------------------------------------------------------------------------------------
def record(pnl: str, reason: str = "stop") -> TradeRecord:
    return TradeRecord("BTCUSDT", 1, 0, 1, D(100), D(1), D(pnl), 0.8, "RANGING", "NY", "normal", ("trend",), reason)


CURRENT = {"min_confidence": D("0.65"), "stop_atr_multiple": D("1.5"), "trail_distance_pct": D("0.15")}


def test_every_50_trades_bounded_proposals_are_made_and_not_applied_unless_enabled():
    learner = Learner()
    proposals = []
    for index in range(50):
        proposals = learner.record(record("-1" if index % 3 else "2"), CURRENT)
        if index < 49:
            assert proposals == []
    by_name = {p.parameter: p for p in proposals}
    assert by_name["min_confidence"].proposed == D("0.67")  # win rate 34 % < 40 %: one step up
    assert by_name["stop_atr_multiple"].proposed == D("1.6")  # every trade stopped out: one step wider
    assert learner.applied == []


def test_proposals_stay_within_their_bounds():
    learner = Learner(every=1, enabled=True)
    proposals = learner.record(record("-1"), {**CURRENT, "min_confidence": D("0.80"), "stop_atr_multiple": D("2.5")})
    assert proposals == [] and learner.applied == []


def test_an_enabled_learner_changes_the_strategy():
    strategy = EnsembleStrategy(["BTCUSDT"], learning_enabled="true", learning_every="1")
    strategy.learner.record(record("-1"), strategy.tunable)
    assert strategy.learner.applied and strategy.learner.applied[0].parameter == "min_confidence"


# -- parameters ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("values", "message"), [
    ({"min_confidence": "65"}, "fraction below 1"), ({"leverage": "-2"}, "positive"), ({"nope": "1"}, "unknown"),
    ({"stop_mode": "wild"}, "stop_mode"), ({"max_open_positions": "x"}, "whole number")])
def test_bad_parameters_are_refused_with_the_reason(values, message):
    with pytest.raises(ParameterError, match=message):
        params_from(values)


# -- the strategy -------------------------------------------------------------------------------------------
def ctx(now_ms: int, positions: dict[str, Decimal] | None = None) -> StrategyContext:
    return StrategyContext(now_ms, D(10000), positions or {}, {}, RULES)


def test_sol_waits_while_btc_is_in_a_trade_unless_above_88_percent():
    strategy = EnsembleStrategy(["BTCUSDT", "SOLUSDT"])
    held = ctx(0, {"BTCUSDT": D("0.01")})
    assert "needs 88%" in (strategy._entry_refusal(held, "SOLUSDT", D("0.87")) or "")
    assert strategy._entry_refusal(held, "SOLUSDT", D("0.88")) is None
    assert strategy._entry_refusal(ctx(0), "SOLUSDT", D("0.70")) is None  # BTC flat


def test_a_halting_breach_stops_entries_and_active_resumes_them():
    strategy = EnsembleStrategy(["BTCUSDT"])
    strategy.on_risk_breach(ctx(0), RiskBreach("sub_account 1", "HALTED", "drawdown", 0))
    assert "HALTED" in (strategy._entry_refusal(ctx(0), "BTCUSDT", D("0.9")) or "")
    strategy.on_risk_breach(ctx(1), RiskBreach("sub_account 1", "ACTIVE", "reset", 1))
    assert strategy._entry_refusal(ctx(1), "BTCUSDT", D("0.9")) is None


def klines(limit: int) -> list[Bar]:
    from algos.strategies.backtest.data import bars_load

    return bars_load(KLINES)[:limit]


@pytest.mark.skipif(not KLINES.exists(), reason="../shared/data BTCUSDT-5m klines are not on this machine")
def test_live_buffers_and_the_backtest_preload_decide_the_same():
    from algos.strategies.backtest.data import bars_resample

    bars5 = klines(900)
    bars15 = bars_resample(bars5, "15m")
    events = sorted([*bars5, *bars15], key=lambda b: (b.close_time_ms, b.close_time_ms - b.open_time_ms))
    live, pre = EnsembleStrategy(["BTCUSDT"]), EnsembleStrategy(["BTCUSDT"])
    pre.preload("BTCUSDT", "5m", bars5)
    pre.preload("BTCUSDT", "15m", bars15)
    decided: dict[str, list[tuple[int, Side, Decimal]]] = {"live": [], "pre": []}
    for bar in events:
        for name, strategy in (("live", live), ("pre", pre)):
            signals = strategy.on_bar(ctx(bar.close_time_ms), bar)
            decided[name].extend((bar.close_time_ms, s.side, s.quantity) for s in signals)
            strategy._trades.clear()  # no fills here: every decision stands alone
    assert decided["pre"], "the data should give the ensemble something to do"
    assert decided["live"] == decided["pre"]


def test_an_entry_fill_builds_the_exit_plan_and_ticks_walk_it():
    strategy = EnsembleStrategy(["BTCUSDT"])
    from algos.strategies.ensemble.strategy import _Trade

    strategy._trades["BTCUSDT"] = _Trade("BTCUSDT", 1, 0, D(200), 0.8, "RANGING", "NY", "normal", ("trend",))
    strategy.on_fill(ctx(1), StrategyFill("BTCUSDT", Side.BUY, D(100000), D("0.030"), D("1.5"), 1))
    plan = strategy._trades["BTCUSDT"].plan
    assert plan is not None and plan.stop == D(99700)
    signals = strategy.on_tick(ctx(2, {"BTCUSDT": D("0.030")}), Tick("BTCUSDT", D(99699), D("99699.1"), 2))
    assert [(s.side, s.quantity, s.reduce_only) for s in signals] == [(Side.SELL, D("0.030"), True)]
    strategy.on_fill(ctx(3), StrategyFill("BTCUSDT", Side.SELL, D(99699), D("0.030"), D("1.5"), 3))
    # (99,699 - 100,000) x 0.030 = -9.03, less 3.00 of fees
    assert strategy.closed[0].pnl == D("-12.03") and strategy.closed[0].exit_reason == "stop"
