"""Breaker triggers from equity history and event windows."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from risk.domain.breakers import (
    EquityHistory,
    EventWindow,
    TripKind,
    equity_trips,
    order_rate_trip,
    rejection_storm_trip,
)
from risk.domain.limits import SubAccountLimits
from risk.domain.states import TradingState

D = Decimal
DAY = 86_400_000


def test_a_daily_loss_at_the_limit_trips_to_reducing():
    history = EquityHistory()
    history.record(DAY * 10, D(10000))
    history.record(DAY * 10 + 3_600_000, D(8999))
    trips = equity_trips(SubAccountLimits(max_daily_loss=D(1000)), history, D(8999))
    assert [(t.kind, t.state) for t in trips] == [(TripKind.DAILY_LOSS, TradingState.REDUCING)]
    assert "daily loss 1,001 USDT" in trips[0].reason


def test_a_new_day_starts_from_the_current_equity():
    history = EquityHistory()
    history.record(DAY * 10, D(10000))
    history.record(DAY * 11, D(8000))
    assert equity_trips(SubAccountLimits(max_daily_loss=D(1000)), history, D(8000)) == []


def test_a_fast_fall_halts_but_the_same_fall_over_an_hour_does_not():
    limits = SubAccountLimits(rapid_drawdown_pct=D(5))
    fast = EquityHistory()
    fast.record(0, D(10000))
    fast.record(9 * 60_000, D(9400))
    slow = EquityHistory()
    slow.record(0, D(10000))
    slow.record(30 * 60_000, D(9700))
    slow.record(60 * 60_000, D(9400))
    assert [t.kind for t in equity_trips(limits, fast, D(9400))] == [TripKind.RAPID_DRAWDOWN]
    assert equity_trips(limits, slow, D(9400)) == []


def test_drawdown_is_measured_from_the_peak():
    history = EquityHistory()
    for ms, equity in ((0, D(10000)), (DAY, D(12000)), (2 * DAY, D(10700))):
        history.record(ms, equity)
    assert [t.kind for t in equity_trips(SubAccountLimits(max_drawdown_pct=D(10)), history, D(10700))] == [
        TripKind.DRAWDOWN]


def test_event_windows_forget_old_events():
    window = EventWindow(60_000)
    for ms in (0, 10_000, 20_000):
        window.add(ms)
    assert window.count(59_999) == 3
    assert window.count(70_000) == 1


def test_order_rate_and_rejection_storm_trips():
    assert order_rate_trip(61, 60) is not None and order_rate_trip(60, 60) is None
    assert rejection_storm_trip(19, 20, 60_000) is None
    storm = rejection_storm_trip(20, 20, 60_000)
    assert storm is not None and storm.state is TradingState.HALTED


@settings(max_examples=200, deadline=None)
@given(samples=st.lists(st.tuples(st.integers(0, 120_000), st.integers(1, 20_000)), min_size=1, max_size=60))
def test_the_window_high_is_the_highest_equity_of_the_last_ten_minutes(samples):
    history = EquityHistory(window_ms=30_000)
    seen: list[tuple[int, Decimal]] = []
    now = 0
    for step, equity in samples:
        now += step // 10
        history.record(now, D(equity))
        seen.append((now, D(equity)))
        assert history.window_high() == max(e for at, e in seen if at >= now - 30_000)
        assert history.peak == max(e for _, e in seen)


def test_a_restored_history_keeps_the_day_open_the_same_day_and_the_peak_across_days():
    history = EquityHistory()
    history.restore(day=10, day_open=D(10000), peak=D(12000))
    history.record(DAY * 10 + 5_000, D(8500))  # restarted later that day
    assert (history.day_open, history.peak) == (D(10000), D(12000))
    trips = equity_trips(SubAccountLimits(max_daily_loss=D(1000), max_drawdown_pct=D(25)), history, D(8500))
    assert [t.kind for t in trips] == [TripKind.DAILY_LOSS, TripKind.DRAWDOWN]
    history.record(DAY * 11, D(8400))  # next day: the day opens at the current equity, the peak stays
    assert (history.day_open, history.peak, history.saved_form()) == (D(8400), D(12000), (11, D(8400), D(12000)))
