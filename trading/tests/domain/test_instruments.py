"""Instrument rules: an order either passes or comes back with a reason a trader can read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading.domain.instruments import InstrumentRules, order_rejection_reason
from trading.domain.types import OrderType

D = Decimal

BTC = InstrumentRules(
    symbol="BTCUSDT",
    tick_size=D("0.10"),
    step_size=D("0.001"),
    min_qty=D("0.002"),
    max_qty=D("1000"),
    min_notional=D("100"),
    min_price=D("556.80"),
    max_price=D("4529764"),
    base_asset="BTC",
)
MARK = D("60000")


def limit_reason(quantity: str, price: str | None, reference: Decimal | None = MARK, **kwargs: bool) -> str | None:
    return order_rejection_reason(
        BTC, order_type=OrderType.LIMIT, quantity=D(quantity), price=None if price is None else D(price),
        reference_price=reference, **kwargs,
    )


def market_reason(quantity: str, price: str | None = None, reference: Decimal | None = MARK) -> str | None:
    return order_rejection_reason(
        BTC, order_type=OrderType.MARKET, quantity=D(quantity), price=None if price is None else D(price),
        reference_price=reference,
    )


def test_a_limit_order_within_every_rule_passes() -> None:
    assert limit_reason("0.010", "60000.10") is None


def test_a_market_order_within_every_rule_passes() -> None:
    assert market_reason("0.010") is None


def test_a_price_off_the_tick_is_refused_naming_the_tick() -> None:
    reason = limit_reason("0.010", "60000.05")

    assert reason is not None
    assert "not on the tick size 0.10" in reason
    assert "BTCUSDT" in reason


def test_a_price_with_extra_trailing_zeros_is_on_the_tick() -> None:
    assert limit_reason("0.010", "60000.1000") is None


def test_a_quantity_below_one_step_is_refused_as_off_the_step() -> None:
    reason = limit_reason("0.0005", "60000")

    assert reason is not None
    assert "not a multiple of the step size 0.001" in reason


def test_a_quantity_that_is_not_a_step_multiple_is_refused() -> None:
    reason = limit_reason("0.0105", "60000")

    assert reason is not None
    assert "0.0105 is not a multiple of the step size" in reason


def test_a_quantity_on_the_step_but_below_the_minimum_is_refused() -> None:
    reason = limit_reason("0.001", "60000")

    assert reason is not None
    assert "below the minimum 0.002" in reason


def test_a_quantity_above_the_maximum_is_refused() -> None:
    reason = limit_reason("1000.001", "60000")

    assert reason is not None
    assert "above the maximum 1000" in reason


def test_a_negative_quantity_is_refused() -> None:
    assert limit_reason("-0.010", "60000") == "quantity must be positive, got -0.010"


def test_a_zero_quantity_is_refused() -> None:
    assert limit_reason("0", "60000") == "quantity must be positive, got 0"


def test_a_non_finite_quantity_is_refused() -> None:
    assert limit_reason("NaN", "60000") == "quantity must be positive, got NaN"


def test_an_order_below_the_minimum_notional_is_refused_with_its_value() -> None:
    reason = limit_reason("0.002", "49999.90", reference=D("50000"))  # 99.9998 USDT

    assert reason is not None
    assert "order value 99.9998" in reason
    assert "USDT is below the minimum 100 for BTCUSDT" in reason


def test_an_order_exactly_at_the_minimum_notional_passes() -> None:
    assert limit_reason("0.002", "50000.00", reference=D("50000")) is None


def test_a_reduce_only_order_skips_the_minimum_notional() -> None:
    assert limit_reason("0.002", "49999.90", reference=D("50000"), reduce_only=True) is None


def test_a_reduce_only_order_still_needs_a_price_on_the_tick() -> None:
    reason = limit_reason("0.002", "49999.95", reference=D("50000"), reduce_only=True)

    assert reason is not None
    assert "tick size" in reason


def test_a_limit_price_above_the_band_around_the_mark_is_refused() -> None:
    reason = limit_reason("0.010", "63000.10")  # mark x 1.05 = 63000

    assert reason is not None
    assert "outside the band 57000.00..63000.00 around the mark 60000" in reason


def test_a_limit_price_below_the_band_around_the_mark_is_refused() -> None:
    reason = limit_reason("0.010", "56999.90")

    assert reason is not None
    assert "outside the band" in reason


def test_a_limit_price_on_the_edge_of_the_band_passes() -> None:
    assert limit_reason("0.010", "63000.00") is None
    assert limit_reason("0.010", "57000.00") is None


def test_without_a_reference_price_the_band_is_not_checked() -> None:
    assert limit_reason("0.010", "90000.00", reference=None) is None


def test_a_limit_price_below_the_instruments_minimum_price_is_refused() -> None:
    reason = limit_reason("1.000", "500.00", reference=None)

    assert reason is not None
    assert "outside 556.80..4529764" in reason


def test_a_limit_price_above_the_instruments_maximum_price_is_refused() -> None:
    reason = limit_reason("0.010", "4529764.10", reference=None)

    assert reason is not None
    assert "outside 556.80..4529764" in reason


def test_a_limit_order_without_a_price_is_refused() -> None:
    assert limit_reason("0.010", None) == "a limit order needs a price"


def test_a_limit_order_with_a_negative_price_is_refused() -> None:
    assert limit_reason("0.010", "-60000") == "price must be positive, got -60000"


def test_a_market_order_with_a_price_is_refused() -> None:
    assert market_reason("0.010", price="60000") == "a market order takes no price"


def test_a_market_order_is_priced_at_the_reference_for_the_minimum_notional() -> None:
    reason = market_reason("0.002", reference=D("40000"))  # 80 USDT

    assert reason is not None
    assert "below the minimum 100" in reason


def test_a_market_order_without_a_reference_skips_the_minimum_notional() -> None:
    assert market_reason("0.002", reference=None) is None


def test_a_quantity_reason_comes_before_a_price_reason() -> None:
    reason = limit_reason("0", "60000.05")

    assert reason is not None
    assert reason.startswith("quantity must be positive")


@pytest.mark.parametrize(
    ("tick_size", "step_size", "field"), [("0", "0.001", "tick_size"), ("0.1", "0", "step_size")],
)
def test_rules_refuse_a_zero_increment(tick_size: str, step_size: str, field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be positive"):
        InstrumentRules(symbol="XUSDT", tick_size=D(tick_size), step_size=D(step_size), min_qty=D("0.001"),
                        max_qty=D("10"), min_notional=D("5"))


def test_rules_refuse_a_negative_minimum_notional() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        InstrumentRules(symbol="XUSDT", tick_size=D("0.1"), step_size=D("0.001"), min_qty=D("0.001"),
                        max_qty=D("10"), min_notional=D("-1"))
