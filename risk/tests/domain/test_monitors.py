"""Concentration and historical VaR."""

from __future__ import annotations

from decimal import Decimal

from risk.domain.monitors import concentration, daily_returns, daily_returns_by_day, historical_var

D = Decimal


def test_concentration_names_the_largest_position():
    result = concentration({"BTCUSDT": D(75000), "ETHUSDT": D(-25000)}, D(50000))
    assert (result.symbol, result.share_of_gross, result.share_of_equity) == ("BTCUSDT", D("0.75"), D("1.5"))


def test_var_is_the_loss_of_the_worst_days_quantile():
    returns = {"BTCUSDT": [D("0.01")] * 98 + [D("-0.05"), D("-0.10")]}
    var = historical_var({"BTCUSDT": D(100000)}, returns, D("0.99"))
    assert var is not None and var.value == D(10000) and var.observations == 100
    short = historical_var({"BTCUSDT": D(-100000)}, returns, D("0.98"))
    assert short is not None and short.value == D(1000)


def test_var_without_history_for_a_held_symbol_is_unknown():
    assert historical_var({"BTCUSDT": D(1)}, {}) is None


def test_daily_returns_from_closes():
    assert daily_returns([D(100), D(110), D(99)]) == [D("0.1"), D("-0.1")]


def test_returns_come_only_from_consecutive_days():
    closes = [(100, Decimal(100)), (101, Decimal(110)), (105, Decimal(55)), (106, Decimal(66))]
    assert daily_returns_by_day(closes) == [Decimal("0.1"), Decimal("0.2")]
