"""Leverage, brackets, initial-margin checks, funding and liquidation."""

from __future__ import annotations

import itertools

import pytest

from simexchange.core import ExchangeError, maintenance_margin
from simexchange.core.brackets import BTCUSDT_BRACKETS, ETHUSDT_BRACKETS, max_notional_for_leverage
from simexchange.core.events import AccountUpdate, OrderTradeUpdate
from simexchange.tests.test_core_support import HOUR_MS, D, Venue


def test_maintenance_margin_is_notional_times_the_tiers_rate_minus_its_cum() -> None:
    assert maintenance_margin(BTCUSDT_BRACKETS, D("100000")) == D("100000") * D("0.005") - D("50")


def test_maintenance_margin_of_a_short_uses_its_absolute_notional() -> None:
    assert maintenance_margin(BTCUSDT_BRACKETS, D("-40000")) == D("160.000")


@pytest.mark.parametrize("table", [BTCUSDT_BRACKETS, ETHUSDT_BRACKETS])
def test_each_tiers_cum_keeps_maintenance_margin_continuous_at_its_floor(table: tuple) -> None:
    for lower, upper in itertools.pairwise(table):
        floor = upper.notional_floor
        assert floor * lower.maint_margin_ratio - lower.cum == floor * upper.maint_margin_ratio - upper.cum


def test_the_max_notional_at_a_leverage_is_the_cap_of_the_last_tier_allowing_it() -> None:
    assert max_notional_for_leverage(BTCUSDT_BRACKETS, 20) == D("20000000")
    assert max_notional_for_leverage(BTCUSDT_BRACKETS, 125) == D("50000")


def test_set_leverage_answers_the_leverage_and_its_max_notional() -> None:
    venue = Venue()
    change = venue.engine.set_leverage(venue.account, "BTCUSDT", 50)
    assert (change.symbol, change.leverage, change.max_notional) == ("BTCUSDT", 50, D("3000000"))


@pytest.mark.parametrize("leverage", [0, 126, -1])
def test_a_leverage_outside_the_brackets_is_rejected_with_4028(leverage: int) -> None:
    venue = Venue()
    with pytest.raises(ExchangeError) as caught:
        venue.engine.set_leverage(venue.account, "BTCUSDT", leverage)
    assert caught.value.code == -4028


def test_an_order_needing_more_initial_margin_than_available_is_rejected_with_2019() -> None:
    venue = Venue(deposit="1000")  # 20x: 20,000 notional
    before = venue.state()
    with pytest.raises(ExchangeError) as caught:
        venue.limit("BUY", "0.500", "49000.0")
    assert (caught.value.code, caught.value.msg) == (-2019, "Margin is insufficient.")
    assert venue.state() == before


def test_higher_leverage_lets_the_same_order_through() -> None:
    venue = Venue(deposit="1000")
    venue.engine.set_leverage(venue.account, "BTCUSDT", 50)
    assert venue.limit("BUY", "0.500", "49000.0").status == "NEW"


def test_resting_orders_consume_available_balance() -> None:
    venue = Venue(deposit="1000")
    venue.limit("BUY", "0.200", "49000.0")  # 9,800 notional: 490 margin
    with pytest.raises(ExchangeError) as caught:
        venue.limit("BUY", "0.250", "49000.0")  # another 612.5
    assert caught.value.code == -2019


def test_an_order_reducing_the_position_needs_no_margin() -> None:
    venue = Venue(deposit="1000")
    venue.market("BUY", "0.350")
    assert venue.engine.account(venue.account).available_balance < D("0.350") * D("50000") / 20
    assert venue.market("SELL", "0.350").status == "FILLED"


def test_a_resting_order_that_would_only_close_the_position_holds_no_margin() -> None:
    venue = Venue(deposit="1000")
    venue.market("BUY", "0.350")
    venue.limit("SELL", "0.350", "51000.0")
    assert venue.engine.account(venue.account).open_order_initial_margin == 0


def test_a_resting_order_that_would_flip_the_position_holds_margin_for_the_growth_in_exposure() -> None:
    venue = Venue(deposit="1000")
    venue.market("BUY", "0.100")
    venue.limit("SELL", "0.300", "51000.0")  # long 0.1 -> short 0.2: exposure grows by 0.1
    assert venue.engine.account(venue.account).open_order_initial_margin == D("0.100") * D("51000") / 20


def test_resting_buys_and_sells_without_a_position_hold_the_margin_of_the_larger_side() -> None:
    venue = Venue(deposit="10000")
    venue.limit("BUY", "0.100", "49000.0")
    venue.limit("SELL", "0.200", "51000.0")
    assert venue.engine.account(venue.account).open_order_initial_margin == D("0.200") * D("51000") / 20


def test_a_modify_that_needs_more_margin_than_available_is_rejected_with_2019() -> None:
    venue = Venue(deposit="1000")
    order = venue.limit("BUY", "0.100", "49000.0")
    params = {"symbol": "BTCUSDT", "orderId": order.order_id, "side": "BUY", "quantity": "0.500", "price": "49000.0"}
    before = venue.state()
    with pytest.raises(ExchangeError) as caught:
        venue.engine.modify_order(venue.account, params)
    assert caught.value.code == -2019
    assert venue.state() == before


def test_a_position_beyond_the_max_notional_at_the_leverage_is_rejected_with_2027() -> None:
    venue = Venue(deposit="1000000")
    venue.engine.set_leverage(venue.account, "BTCUSDT", 125)  # cap 50,000
    with pytest.raises(ExchangeError) as caught:
        venue.limit("BUY", "1.100", "49000.0")
    assert caught.value.code == -2027


def test_a_long_pays_funding_at_a_positive_rate_at_the_funding_time() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    wallet = venue.wallet()
    venue.clock.advance(8 * HOUR_MS)
    venue.mark("51000", rate="0.0003")
    assert venue.wallet() == wallet - D("0.01") * D("51000") * D("0.0001")


def test_a_short_receives_funding_at_a_positive_rate() -> None:
    venue = Venue()
    venue.market("SELL", "0.010")
    wallet = venue.wallet()
    venue.clock.advance(8 * HOUR_MS)
    venue.mark("50000")
    assert venue.wallet() == wallet + D("0.05")


def test_no_funding_is_charged_before_the_funding_time() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    wallet = venue.wallet()
    venue.clock.advance(8 * HOUR_MS - 1)
    venue.mark("50000")
    assert venue.wallet() == wallet


def test_funding_is_charged_once_per_funding_time() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    venue.clock.advance(8 * HOUR_MS)
    due = venue.clock() + 8 * HOUR_MS
    venue.mark("50000", next_funding_ms=due)
    wallet = venue.wallet()
    venue.clock.advance(1000)
    venue.mark("50000", next_funding_ms=due)
    assert venue.wallet() == wallet


def test_funding_publishes_an_account_update_with_the_balance_only() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    venue.engine.events.drain()
    venue.clock.advance(8 * HOUR_MS)
    [update] = venue.mark("50000")
    assert isinstance(update, AccountUpdate)
    assert (update.reason, update.positions, update.balances[0].balance_change) == ("FUNDING_FEE", (), D("-0.05"))


def test_an_account_whose_margin_ratio_reaches_one_is_liquidated_at_the_mark() -> None:
    venue = Venue(deposit="1000")
    venue.market("BUY", "0.300")
    liquidation_price = venue.engine.positions(venue.account, "BTCUSDT")[0].liquidation_price
    assert D("46870") < liquidation_price < D("46890")
    venue.clock.advance(1000)
    events = venue.mark("46800")
    fills = [e for e in events if isinstance(e, OrderTradeUpdate)]
    assert [(f.execution_type, f.order.client_order_id, f.last_filled_price) for f in fills] == [
        ("CALCULATED", f"autoclose-{venue.clock()}", D("46800"))
    ]
    assert venue.position_amt() == 0


def test_an_account_above_its_maintenance_margin_is_not_liquidated() -> None:
    venue = Venue(deposit="1000")
    venue.market("BUY", "0.300")
    venue.mark("47000")
    assert venue.position_amt() == D("0.300")


def test_liquidation_cancels_the_accounts_open_orders_first() -> None:
    venue = Venue(deposit="1000")
    venue.market("BUY", "0.300")
    resting = venue.limit("SELL", "0.010", "51000.0", reduceOnly="true")
    venue.mark("46000")
    assert venue.order(resting.order_id).status == "CANCELED"


def test_the_account_view_reports_margin_balance_and_available_balance() -> None:
    venue = Venue(deposit="1000")
    venue.market("BUY", "0.100")  # fee 2.5
    venue.mark("51000")
    view = venue.engine.account(venue.account)
    assert view.unrealized_pnl == D("100.0")
    assert view.margin_balance == D("1097.5")
    assert view.available_balance == D("1097.5") - D("0.100") * D("51000") / 20
    assert view.maint_margin == D("0.100") * D("51000") * D("0.004")
