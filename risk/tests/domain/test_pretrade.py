"""The pre-trade check: readable denials, states at three scopes, never an exception."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from risk.domain.limits import GlobalLimits, SubAccountLimits
from risk.domain.pretrade import AccountBook, GlobalBook, is_reducing, pre_trade_check
from risk.domain.states import GLOBAL, ScopeState, TradingState, algo_scope, sub_account_scope
from trading.domain.client_ids import OrderOrigin
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType, Side, TimeInForce

D = Decimal
NOW = 1_700_000_000_000


def order(side: Side = Side.BUY, qty: str = "0.1", price: str | None = None, symbol: str = "BTCUSDT",
          algo: int | None = None) -> OrderIntent:
    kind = OrderType.LIMIT if price is not None else OrderType.MARKET
    return OrderIntent(1, symbol, side, kind, D(qty), D(price) if price is not None else None, algo_run_id=algo)


def book(**limits: object) -> AccountBook:
    return AccountBook(1, SubAccountLimits(**limits), margin_balance=D(100000))  # type: ignore[arg-type]


def test_an_order_within_every_limit_is_allowed():
    decision = pre_trade_check(order(), book=book(max_position_notional=D(50000)), world=GlobalBook(),
                               reference_price=D(60000), now_ms=NOW)
    assert decision.allowed


def test_a_position_limit_denial_reads_like_the_operator_expects():
    account = book(max_position_notional=D(50000))
    account.positions["BTCUSDT"] = D("0.5")
    decision = pre_trade_check(order(qty="0.5206"), book=account, world=GlobalBook(),
                               reference_price=D("60000"), now_ms=NOW)
    assert not decision.allowed
    assert decision.reason == "max position notional 50,000 USDT would be exceeded: 61,236"


def test_working_orders_count_towards_the_position_limit():
    account = book(max_position_notional=D(50000))
    account.working_buy["BTCUSDT"] = D("0.8")
    assert pre_trade_check(order(qty="0.1"), book=account, world=GlobalBook(), reference_price=D(60000),
                           now_ms=NOW).code == "position_notional"


def test_order_notional_total_notional_and_leverage_limits():
    world = GlobalBook(marks={"ETHUSDT": D(3000)})
    assert pre_trade_check(order(qty="1"), book=book(max_order_notional=D(10000)), world=world,
                           reference_price=D(60000), now_ms=NOW).code == "order_notional"
    account = book(max_total_notional=D(70000))
    account.positions["ETHUSDT"] = D(5)
    assert pre_trade_check(order(qty="1"), book=account, world=world, reference_price=D(60000),
                           now_ms=NOW).code == "total_notional"
    leveraged = book(max_leverage=D(2))
    leveraged.margin_balance = D(25000)
    decision = pre_trade_check(order(qty="1"), book=leveraged, world=world, reference_price=D(60000), now_ms=NOW)
    assert decision.code == "leverage" and "2.40x" in decision.reason


def test_symbols_price_band_open_orders_and_rate():
    assert pre_trade_check(order(symbol="ETHUSDT"), book=book(allowed_symbols=frozenset({"BTCUSDT"})),
                           world=GlobalBook(), reference_price=D(3000), now_ms=NOW).code == "symbol_not_allowed"
    assert pre_trade_check(order(price="66000"), book=book(price_band_pct=D(5)), world=GlobalBook(),
                           reference_price=D(60000), now_ms=NOW).code == "price_band"
    full = book(max_open_orders=2)
    full.open_orders = 2
    assert pre_trade_check(order(), book=full, world=GlobalBook(), reference_price=D(60000),
                           now_ms=NOW).code == "open_orders"
    busy = book(max_orders_per_minute=3)
    for ms in (NOW - 50_000, NOW - 20_000, NOW - 1):
        busy.orders.add(ms)
    assert pre_trade_check(order(), book=busy, world=GlobalBook(), reference_price=D(60000),
                           now_ms=NOW).code == "order_rate"
    assert pre_trade_check(order(), book=busy, world=GlobalBook(), reference_price=D(60000),
                           now_ms=NOW + 10_001).allowed


def test_global_net_exposure_counts_every_sub_account_but_lets_the_net_shrink():
    world = GlobalBook(limits=GlobalLimits(max_symbol_net_notional=D(100000)), net={"BTCUSDT": D("1.6")})
    assert pre_trade_check(order(qty="0.1"), book=book(), world=world, reference_price=D(60000),
                           now_ms=NOW).code == "global_net"
    assert pre_trade_check(order(Side.SELL, qty="0.1"), book=book(), world=world, reference_price=D(60000),
                           now_ms=NOW).allowed


def test_halted_at_any_scope_refuses_every_new_order():
    account = book()
    account.positions["BTCUSDT"] = D(1)
    for scope in (GLOBAL, sub_account_scope(1), algo_scope(7)):
        state = ScopeState(scope, TradingState.HALTED, "manual: desk review")
        decision = pre_trade_check(order(Side.SELL, "0.5", algo=7), book=account, world=GlobalBook(),
                                   reference_price=D(60000), now_ms=NOW, states=(state,))
        assert decision.code == "halted" and "desk review" in decision.reason


def test_a_missing_price_refuses_exposure_but_not_a_reduction():
    account = book(max_position_notional=D(50000))
    account.positions["BTCUSDT"] = D(1)
    assert pre_trade_check(order(), book=account, world=GlobalBook(), reference_price=None, now_ms=NOW).code == (
        "no_price")
    assert pre_trade_check(order(Side.SELL), book=account, world=GlobalBook(), reference_price=None,
                           now_ms=NOW).allowed


def test_a_missing_price_needs_no_refusal_when_no_exposure_limit_applies():
    assert pre_trade_check(order(), book=book(max_open_orders=5), world=GlobalBook(), reference_price=None,
                           now_ms=NOW).allowed
    desk = GlobalBook(limits=GlobalLimits(max_total_notional=D(10**6)))
    assert pre_trade_check(order(), book=book(), world=desk, reference_price=None, now_ms=NOW).code == "no_price"


decimals = st.one_of(st.decimals(allow_nan=True, allow_infinity=True), st.none())
ints = st.one_of(st.integers(-5, 10**6), st.none())


@given(side=st.sampled_from(Side), kind=st.sampled_from(OrderType), qty=st.decimals(allow_nan=True),
       price=decimals, reference=decimals, position=st.decimals(allow_nan=True), balance=decimals,
       max_notional=decimals, max_leverage=decimals, band=decimals, rate=ints, open_orders=ints,
       state=st.one_of(st.none(), st.sampled_from(TradingState)), symbol=st.text(max_size=12),
       tif=st.one_of(st.none(), st.sampled_from(TimeInForce)), net=st.decimals(allow_nan=True))
def test_the_check_never_raises_whatever_it_is_given(side, kind, qty, price, reference, position, balance,
                                                     max_notional, max_leverage, band, rate, open_orders, state,
                                                     symbol, tif, net):
    limits = SubAccountLimits(max_position_notional=max_notional, max_total_notional=max_notional,
                              max_leverage=max_leverage, max_order_notional=max_notional, price_band_pct=band,
                              max_orders_per_minute=rate, max_open_orders=open_orders)
    account = AccountBook(1, limits, positions={symbol: position}, margin_balance=balance)
    world = GlobalBook(GlobalLimits(max_symbol_net_notional=max_notional, max_total_notional=max_notional),
                       net={symbol: net}, gross={symbol: net, "OTHER": net}, marks={"OTHER": price or D(1)})
    intent = OrderIntent(1, symbol, side, kind, qty, price, tif, False, OrderOrigin.LMT)
    states = (ScopeState(GLOBAL, state, "x"),) if state is not None else ()
    decision = pre_trade_check(intent, book=account, world=world, reference_price=reference, now_ms=NOW,
                               states=states)
    assert decision.allowed or decision.reason


@given(position=st.decimals("-100", "100", places=3), side=st.sampled_from(Side),
       qty=st.decimals("0.001", "200", places=3))
def test_reducing_lets_through_exactly_the_orders_that_reduce(position, side, qty):
    account = AccountBook(1, SubAccountLimits(), positions={"BTCUSDT": position}, margin_balance=D(1000))
    state = ScopeState(sub_account_scope(1), TradingState.REDUCING, "daily loss")
    decision = pre_trade_check(order(side, str(qty)), book=account, world=GlobalBook(), reference_price=D(60000),
                               now_ms=NOW, states=(state,))
    shrinks = abs(position + (qty if side is Side.BUY else -qty)) < abs(position)
    no_flip = (position + (qty if side is Side.BUY else -qty)) * position >= 0
    assert decision.allowed == (shrinks and no_flip)
    assert decision.allowed == is_reducing(position, side, qty)
