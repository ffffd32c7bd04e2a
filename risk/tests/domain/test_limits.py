"""Limit validation says which field is wrong and what to change."""

from __future__ import annotations

from decimal import Decimal

from risk.domain.limits import GlobalLimits, SubAccountLimits, global_limit_errors, limit_errors, money

D = Decimal


def test_valid_limits_have_no_errors():
    limits = SubAccountLimits(max_position_notional=D(50000), max_total_notional=D(100000), max_leverage=D(5),
                              max_open_orders=20, price_band_pct=D(5), allowed_symbols=frozenset({"BTCUSDT"}))
    assert limit_errors(limits, known_symbols={"BTCUSDT", "ETHUSDT"}) == {}


def test_negative_and_zero_limits_are_refused_per_field():
    errors = limit_errors(SubAccountLimits(max_position_notional=D(-1), max_open_orders=0))
    assert set(errors) == {"max_position_notional", "max_open_orders"}
    assert "positive" in errors["max_position_notional"]


def test_a_price_band_outside_the_range_is_refused():
    assert "price_band_pct" in limit_errors(SubAccountLimits(price_band_pct=D(80)))
    assert "price_band_pct" in limit_errors(SubAccountLimits(price_band_pct=D(0)))


def test_a_position_limit_above_the_total_limit_is_refused():
    errors = limit_errors(SubAccountLimits(max_position_notional=D(200), max_total_notional=D(100)))
    assert "max total notional" in errors["max_position_notional"]


def test_unknown_symbols_are_named():
    errors = limit_errors(SubAccountLimits(allowed_symbols=frozenset({"BTCUSDT", "XYZUSDT"})),
                          known_symbols={"BTCUSDT"})
    assert errors == {"allowed_symbols": "unknown symbol(s): XYZUSDT; add the instrument first"}


def test_global_limits_refuse_unknown_symbols_and_negative_caps():
    errors = global_limit_errors(GlobalLimits(max_total_notional=D(-5), per_symbol_net_notional={"XYZ": D(1)}),
                                 known_symbols={"BTCUSDT"})
    assert set(errors) == {"max_total_notional", "per_symbol_net_notional"}


def test_amounts_read_with_thousands_separators():
    assert money(D(50000)) == "50,000"
    assert money(D("61240.456")) == "61,240.46"
