"""A held reprice goes out when the throttle (or the desk's reprice budget) lets it, without waiting for the
next quote; the desk's budget is shared by every chase."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from algos.backtest.replay import Replay
from algos.backtest.world import SUB_ACCOUNT_ID, SentOrder, world_create
from algos.domain.chase import ChaseParams, StalkMode
from algos.engine import RunRecord
from algos.governor import RepriceGovernor
from algos.runners.chase import ChaseRunner
from simexchange.marketdata import BookTicker
from trading.domain.types import Side
from trading.tests.engine.harness import ALPHA, Harness, make_harness

D = Decimal


class ManualTimers:
    def __init__(self) -> None:
        self.due: list[tuple[int, Callable[[], Awaitable[None]]]] = []

    def call_at(self, at_ms: int, callback: Callable[[], Awaitable[None]]) -> None:
        self.due.append((at_ms, callback))

    async def fire_until(self, h: Harness, now_ms: int) -> None:
        for at_ms, callback in sorted(self.due, key=lambda item: item[0]):
            if at_ms <= now_ms:
                self.due.remove((at_ms, callback))
                await callback()
                await h.pump()


async def chase(h: Harness, timers: ManualTimers, governor: RepriceGovernor | None = None,
                sub: int = ALPHA) -> ChaseRunner:
    rules = next(r for r in await h.venue.instruments() if r.symbol == "BTCUSDT")
    params = ChaseParams(side=Side.BUY, quantity=D("0.010"), rules=rules, stalk_mode=StalkMode.MAINTAIN,
                         reprice_throttle_ms=500)
    return ChaseRunner(algo_run_id=None, sub_account_id=sub, params=params, manager=h.manager, clock=h.clock,
                       timers=timers, governor=governor)


async def quote(h: Harness, runners: list[ChaseRunner], bid: str, ask: str) -> None:
    h.quote("BTCUSDT", bid, ask)
    await h.pump()
    for runner in runners:
        await runner.on_quote(D(bid), D(ask))
    await h.pump()


def resting_prices(h: Harness) -> list[Decimal]:
    return sorted(order.price for order in h.exchange.open_orders(h.account_id))


async def test_a_reprice_held_by_the_throttle_goes_out_when_the_throttle_ends_without_a_new_quote():
    h, timers = await make_harness(), ManualTimers()
    runner = await chase(h, timers)
    start = h.clock.now_ms()
    await quote(h, [runner], "60000.0", "60000.1")
    h.clock.advance(0.1)
    await quote(h, [runner], "60010.0", "60010.1")  # 100 ms after the place: held by the 500 ms throttle
    assert resting_prices(h) == [D("60000.0")]
    assert [at for at, _ in timers.due] == [start + 500]
    h.clock.advance(0.4)
    await timers.fire_until(h, h.clock.now_ms())  # no quote in between: the timer decides on the latest one
    assert resting_prices(h) == [D("60010.0")] and runner.reprices == 1
    assert timers.due == []  # nothing held any more


async def test_chases_share_the_desks_reprice_budget_and_the_one_without_a_token_waits_for_the_next():
    h, timers = await make_harness(), ManualTimers()
    governor = RepriceGovernor(rate_per_s=1, burst=1)
    first, second = await chase(h, timers, governor), await chase(h, timers, governor)
    await quote(h, [first, second], "60000.0", "60000.1")  # first placements take no token
    h.clock.advance(1)
    await quote(h, [first, second], "60010.0", "60010.1")
    assert resting_prices(h) == [D("60000.0"), D("60010.0")]  # one token: one reprice
    (wake_at, _), = timers.due
    assert wake_at == h.clock.now_ms() + 1001  # the next token
    h.clock.advance(1.001)
    await timers.fire_until(h, h.clock.now_ms())
    assert resting_prices(h) == [D("60010.0"), D("60010.0")]


def test_the_budget_refills_at_its_rate_up_to_its_burst():
    governor = RepriceGovernor(rate_per_s=2, burst=3)
    for _ in range(3):
        assert governor.available(0)
        governor.take(0)
    assert not governor.available(0) and governor.next_at(0) == 501
    assert governor.available(501)
    assert governor.available(10_000) and governor.tokens == 3
    with pytest.raises(ValueError, match="positive rate"):
        RepriceGovernor(rate_per_s=0, burst=1)


async def test_in_a_backtest_the_held_reprice_goes_out_at_the_throttles_end_on_the_virtual_clock():
    start = 1_700_000_000_000
    world = await world_create(start_ms=start)
    replay = Replay(world, symbols=["BTCUSDT"])

    def ticker(bid: str, ask: str, at_ms: int, update: int) -> BookTicker:
        return BookTicker("BTCUSDT", update, D(bid), D("5"), D(ask), D("5"), at_ms, at_ms)

    await replay.step(ticker("60000.0", "60000.1", start, 1))
    record = RunRecord(1, "chase", SUB_ACCOUNT_ID, {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.010"})
    world.runs[1] = record
    await world.engine.start({"algo_run_id": 1}, record=record)
    await replay.step(ticker("60000.0", "60000.1", start + 10, 2))  # places
    await replay.step(ticker("60010.0", "60010.1", start + 110, 3))  # held by the throttle
    await replay.step(ticker("60010.0", "60010.2", start + 5_000, 4))  # the next quote comes much later
    places = [(s.time_ms - start, s.price) for s in world.venue.sent if isinstance(s, SentOrder) and s.kind == "place"]
    assert places == [(10, D("60000.0")), (510, D("60010.0"))]
