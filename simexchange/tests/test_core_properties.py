"""Invariants of the matching core under random order flow and market data (hypothesis)."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simexchange.core import EngineConfig, ExchangeError, MatchingEngine, RateLimitConfig
from simexchange.core.events import AccountUpdate, OrderTradeUpdate, UserEvent
from simexchange.marketdata import BookTicker, MarkPrice, Trade
from simexchange.tests.test_core_support import HOUR_MS, START_MS, FakeClock

D = Decimal
BASE = D("50000")
TICK = D("0.1")
DEPOSIT = D("500")  # small, so high leverage and 4 % moves reach liquidation

# Prices in ticks from 50,000 (up to +-4 %): a few shared levels make orders and market data meet often.
LEVELS = [-20_000, -8_000, -2_000, -300, -30, -3, -1, 0, 1, 3, 30, 300, 2_000, 8_000, 20_000]
offsets = st.sampled_from(LEVELS) | st.integers(min_value=-20_000, max_value=20_000)
quantities = st.sampled_from([2, 5, 10, 50]).map(lambda n: D(n) / 1000) | st.integers(2, 600).map(lambda n: D(n) / 1000)
sides = st.sampled_from(["BUY", "SELL"])
reduce_only = st.sampled_from([False, False, False, True])

actions = st.one_of(
    st.tuples(st.just("quote"), offsets, st.integers(1, 5), quantities, quantities),
    st.tuples(st.just("trade"), offsets, quantities),
    st.tuples(st.just("mark"), offsets, st.integers(-20, 20), st.integers(0, 9)),
    st.tuples(st.just("limit"), sides, st.sampled_from(["GTC", "IOC", "FOK", "GTX"]), offsets, quantities, reduce_only),
    st.tuples(st.just("market"), sides, quantities, reduce_only),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("modify"), st.integers(0, 30), offsets, quantities),
    st.tuples(st.just("leverage"), st.integers(1, 125)),
    st.tuples(st.just("wait"), st.integers(0, 20_000)),
)


class Run:
    """Applies actions to one account, swallowing the exchange's rejections, and records every event."""

    def __init__(self) -> None:
        self.clock = FakeClock(START_MS)
        self.engine = MatchingEngine(clock=self.clock)
        self.account = self.engine.create_account(api_key="k", secret="s", deposit=DEPOSIT)
        self.events: list[UserEvent] = []
        self.engine.events.subscribe(self.events.append)
        self.order_ids: list[int] = []
        self.due = START_MS + 8 * HOUR_MS
        self.seq = 0
        self._mark(0, 1, 0)
        self._quote(0, 1, D("1"), D("1"))

    def apply(self, action: tuple[Any, ...]) -> None:
        with contextlib.suppress(ExchangeError):
            getattr(self, f"_{action[0]}")(*action[1:])

    def _quote(self, offset: int, spread: int, bid_qty: Decimal, ask_qty: Decimal) -> None:
        self.seq += 1
        bid = BASE + TICK * offset
        now = self.clock()
        self.engine.on_book_ticker(
            BookTicker("BTCUSDT", self.seq, bid, bid_qty, bid + TICK * spread, ask_qty, now, now)
        )

    def _trade(self, offset: int, qty: Decimal) -> None:
        self.seq += 1
        now = self.clock()
        self.engine.on_trade(Trade("BTCUSDT", self.seq, BASE + TICK * offset, qty, False, now, now))

    def _mark(self, offset: int, rate_bp: int, hours: int) -> None:
        self.clock.advance(hours * HOUR_MS)
        now = self.clock()
        while self.due <= now - 8 * HOUR_MS:
            self.due += 8 * HOUR_MS
        mark = BASE + TICK * offset
        self.engine.on_mark_price(MarkPrice("BTCUSDT", mark, mark, mark, D(rate_bp) / 10000, self.due, now))
        if now >= self.due:
            self.due += 8 * HOUR_MS

    def _limit(self, side: str, tif: str, offset: int, qty: Decimal, reduce_only: bool) -> None:
        params: dict[str, object] = {"symbol": "BTCUSDT", "side": side, "type": "LIMIT", "timeInForce": tif}
        params |= {"quantity": str(qty), "price": str(BASE + TICK * offset), "reduceOnly": reduce_only}
        self.order_ids.append(self.engine.new_order(self.account, params).order_id)

    def _market(self, side: str, qty: Decimal, reduce_only: bool) -> None:
        params = {"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": str(qty), "reduceOnly": reduce_only}
        self.order_ids.append(self.engine.new_order(self.account, params).order_id)

    def _cancel(self, index: int) -> None:
        if self.order_ids:
            order_id = self.order_ids[index % len(self.order_ids)]
            self.engine.cancel_order(self.account, {"symbol": "BTCUSDT", "orderId": order_id})

    def _modify(self, index: int, offset: int, qty: Decimal) -> None:
        if self.order_ids:
            order = self.engine.query_order(
                self.account, {"symbol": "BTCUSDT", "orderId": self.order_ids[index % len(self.order_ids)]}
            )
            params = {"symbol": "BTCUSDT", "orderId": order.order_id, "side": order.side}
            params |= {"quantity": str(qty), "price": str(BASE + TICK * offset)}
            self.engine.modify_order(self.account, params)

    def _leverage(self, leverage: int) -> None:
        self.engine.set_leverage(self.account, "BTCUSDT", leverage)

    def _wait(self, ms: int) -> None:
        self.clock.advance(ms)

    def fills(self) -> list[OrderTradeUpdate]:
        return [e for e in self.events if isinstance(e, OrderTradeUpdate) and e.trade_id]


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(steps: list[tuple[Any, ...]]) -> Run:
    run = Run()
    for step in steps:
        run.apply(step)
    return run


@PROPERTY_SETTINGS
@given(st.lists(actions, min_size=20, max_size=100))
def test_no_order_fills_at_a_price_worse_than_its_limit(steps: list[tuple[Any, ...]]) -> None:
    for fill in _run(steps).fills():
        if fill.order.order_type == "LIMIT":
            if fill.order.side == "BUY":
                assert fill.last_filled_price <= fill.order.price
            else:
                assert fill.last_filled_price >= fill.order.price


@PROPERTY_SETTINGS
@given(st.lists(actions, min_size=20, max_size=100))
def test_a_post_only_order_never_takes(steps: list[tuple[Any, ...]]) -> None:
    for fill in _run(steps).fills():
        if fill.order.time_in_force == "GTX":
            assert fill.is_maker


@PROPERTY_SETTINGS
@given(st.lists(actions, min_size=20, max_size=100))
def test_the_wallet_equals_deposits_plus_realized_pnl_minus_fees_plus_funding(steps: list[tuple[Any, ...]]) -> None:
    run = _run(steps)
    realized = sum((f.realized_profit for f in run.fills()), D(0))
    fees = sum((f.commission for f in run.fills()), D(0))
    funding = sum(
        (
            e.balances[0].balance_change
            for e in run.events
            if isinstance(e, AccountUpdate) and e.reason == "FUNDING_FEE"
        ),
        D(0),
    )
    assert run.engine.account(run.account).wallet_balance == DEPOSIT + realized - fees + funding


@PROPERTY_SETTINGS
@given(st.lists(actions, min_size=20, max_size=100))
def test_each_position_equals_the_sum_of_its_fills(steps: list[tuple[Any, ...]]) -> None:
    run = _run(steps)
    trades = run.engine.user_trades(run.account, {"symbol": "BTCUSDT", "limit": 1000})
    signed = sum((t.qty if t.side == "BUY" else -t.qty for t in trades), D(0))
    assert run.engine.positions(run.account, "BTCUSDT")[0].position_amt == signed
    assert [t.trade_id for t in trades] == [f.trade_id for f in run.fills()]


@PROPERTY_SETTINGS
@given(st.lists(actions, min_size=20, max_size=100))
def test_an_orders_executed_quantity_is_the_sum_of_its_fills_and_never_exceeds_it(steps: list[tuple[Any, ...]]) -> None:
    run = _run(steps)
    executed: dict[int, Decimal] = {}
    for fill in run.fills():
        executed[fill.order.order_id] = executed.get(fill.order.order_id, D(0)) + fill.last_filled_qty
        assert fill.order.executed_qty == executed[fill.order.order_id] <= fill.order.orig_qty


LIMITS = RateLimitConfig(orders_per_10s=4, orders_per_minute=10)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4_000), min_size=1, max_size=80))
def test_never_more_orders_are_accepted_in_a_window_than_its_limit(gaps_ms: list[int]) -> None:
    clock = FakeClock(START_MS)
    engine = MatchingEngine(EngineConfig(rate_limits=LIMITS), clock=clock)
    account = engine.create_account(api_key="k", secret="s", deposit=D("10000000"))
    accepted: list[int] = []
    for gap in gaps_ms:
        clock.advance(gap)
        params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
        try:
            engine.new_order(account, params | {"quantity": "0.010", "price": "49000.0"})
            accepted.append(clock())
        except ExchangeError as error:
            assert error.code == -1015
    for window_ms, limit in ((10_000, LIMITS.orders_per_10s), (60_000, LIMITS.orders_per_minute)):
        per_window: dict[int, int] = {}
        for moment in accepted:
            per_window[moment // window_ms] = per_window.get(moment // window_ms, 0) + 1
        assert max(per_window.values(), default=0) <= limit
