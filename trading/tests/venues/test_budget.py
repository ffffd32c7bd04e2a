"""The shared request budget against real Redis: windows, priorities, Retry-After, fallback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from trading.venues.base import VenueLimits
from trading.venues.budget import BudgetExhausted, BudgetPolicy, Priority, RequestBudget, budget_redis
from trading.venues.budget_store import Window

from .conftest import ManualTime

pytestmark = pytest.mark.timeout(20)

SMALL = VenueLimits(request_weight_per_minute=100, orders_per_10s=10, orders_per_minute=50)
NO_WAIT = BudgetPolicy(max_wait_ms={Priority.CANCEL: 0, Priority.RECONCILE: 0, Priority.NEW_ORDER: 0})


def make_budget(account: str, redis: Any, time: ManualTime, policy: BudgetPolicy | None = None) -> RequestBudget:
    return RequestBudget(account=account, clock=time.clock, limits=SMALL, redis=redis,
                         policy=policy or NO_WAIT, sleep=time.sleep)


async def try_slot(budget: RequestBudget, priority: Priority, *, weight: int = 1, orders: int = 0) -> bool:
    try:
        async with budget.slot(priority, weight=weight, orders=orders):
            return True
    except BudgetExhausted:
        return False


async def test_two_processes_sharing_redis_never_exceed_the_order_window(account: str, redis: Any) -> None:
    time = ManualTime()
    first, second = make_budget(account, redis, time), make_budget(account, redis, time)
    attempts = [try_slot(b, Priority.NEW_ORDER, orders=1) for _ in range(10) for b in (first, second)]

    granted = sum(await asyncio.gather(*attempts))

    assert granted == 7  # new orders may fill 70 % of the 10 orders per 10 s
    assert int(await redis.get(f"pms:budget:{account}:orders10s:{time.clock.now_ms()}")) == 7


async def test_the_window_reopens_when_the_exchange_window_rolls_over(account: str, redis: Any) -> None:
    time = ManualTime()
    budget = make_budget(account, redis, time)
    for _ in range(7):
        assert await try_slot(budget, Priority.NEW_ORDER, orders=1)
    assert not await try_slot(budget, Priority.NEW_ORDER, orders=1)

    await time.advance(10_000)

    assert await try_slot(budget, Priority.NEW_ORDER, orders=1)


async def test_cancels_go_while_new_orders_are_refused_for_lack_of_tokens(account: str, redis: Any) -> None:
    time = ManualTime()
    budget = make_budget(account, redis, time)
    assert await try_slot(budget, Priority.NEW_ORDER, weight=70)

    assert not await try_slot(budget, Priority.NEW_ORDER, weight=1)
    assert await try_slot(budget, Priority.RECONCILE, weight=15)
    assert not await try_slot(budget, Priority.RECONCILE, weight=1)
    assert await try_slot(budget, Priority.CANCEL, weight=15)


async def test_a_waiting_new_order_stays_behind_while_a_cancel_proceeds(account: str, redis: Any) -> None:
    time = ManualTime()
    waiting = BudgetPolicy(max_wait_ms={Priority.CANCEL: 0, Priority.RECONCILE: 0, Priority.NEW_ORDER: 20_000})
    budget = make_budget(account, redis, time, waiting)
    assert await try_slot(budget, Priority.NEW_ORDER, orders=7)
    new_order = asyncio.create_task(try_slot(budget, Priority.NEW_ORDER, orders=1))
    await asyncio.sleep(0.05)

    assert await try_slot(budget, Priority.CANCEL, weight=1)
    assert not new_order.done() and time.sleepers == 1

    await time.advance(10_300)  # the next 10 s window, plus the resume jitter
    assert await asyncio.wait_for(new_order, 2)


async def test_after_a_429_neither_process_sends_before_retry_after(account: str, redis: Any) -> None:
    time = ManualTime()
    queueing = BudgetPolicy(max_wait_ms=dict.fromkeys(Priority, 10_000))
    first, second = make_budget(account, redis, time, queueing), make_budget(account, redis, time, queueing)
    until = time.clock.now_ms() + 3_500  # Retry-After plus the margin for processes' clock differences
    await first.observe(status=429, headers={"Retry-After": "3"}, started_ms=time.clock.now_ms())
    sent_at: dict[str, int] = {}

    async def send(name: str, budget: RequestBudget, priority: Priority) -> None:
        async with budget.slot(priority, weight=1):
            sent_at[name] = time.clock.now_ms()

    with pytest.raises(BudgetExhausted) as refused:
        await send("new order", second, Priority.NEW_ORDER)
    assert refused.value.status == 429 and refused.value.retry_after_ms == 3_500
    cancel = asyncio.create_task(send("cancel", second, Priority.CANCEL))
    read = asyncio.create_task(send("read", first, Priority.RECONCILE))
    await asyncio.sleep(0.05)
    await time.advance(3_499)
    assert sent_at == {}

    await time.advance(1)
    await asyncio.wait_for(cancel, 2)
    await time.advance(250)
    await asyncio.wait_for(read, 2)

    assert sent_at["cancel"] == until and sent_at["read"] > until  # cancels go first
    assert (await redis.get(f"pms:budget:{account}:blocked_until")).decode() == f"{until}:429"


async def test_a_418_ban_refuses_even_cancels_until_retry_after(account: str, redis: Any) -> None:
    time = ManualTime()
    first, second = make_budget(account, redis, time), make_budget(account, redis, time)
    await first.observe(status=418, headers={"retry-after": "60"}, started_ms=time.clock.now_ms())

    with pytest.raises(BudgetExhausted) as refused:
        async with second.slot(Priority.CANCEL, weight=1):
            pass

    assert refused.value.banned and refused.value.retry_after_ms == 60_500
    await time.advance(60_500)
    assert await try_slot(second, Priority.CANCEL)


async def test_usage_headers_raise_the_shared_count_but_never_lower_it(account: str, redis: Any) -> None:
    time = ManualTime()
    budget = make_budget(account, redis, time)
    now = time.clock.now_ms()
    await budget.observe(status=200, headers={"X-MBX-USED-WEIGHT-1M": "84"}, started_ms=now)
    await budget.observe(status=200, headers={"X-MBX-USED-WEIGHT-1M": "3"}, started_ms=now)

    assert int(await redis.get(f"pms:budget:{account}:weight1m:{now}")) == 84
    assert await try_slot(budget, Priority.RECONCILE, weight=1)
    assert not await try_slot(budget, Priority.RECONCILE, weight=1)


async def test_a_response_from_the_previous_window_does_not_fill_the_new_one(account: str, redis: Any) -> None:
    time = ManualTime()
    budget = make_budget(account, redis, time)
    started = time.clock.now_ms()
    await time.advance(60_000)

    await budget.observe(status=200, headers={"X-MBX-USED-WEIGHT-1M": "99"}, started_ms=started)

    assert await try_slot(budget, Priority.NEW_ORDER, weight=60)


async def test_minus_1015_fills_the_order_window_until_it_rolls_over(account: str, redis: Any) -> None:
    time = ManualTime()
    budget = make_budget(account, redis, time)
    await budget.note_order_limit()

    assert not await try_slot(budget, Priority.NEW_ORDER, orders=1)
    assert await try_slot(budget, Priority.CANCEL, weight=1)  # a cancel counts no orders
    await time.advance(10_000)
    assert await try_slot(budget, Priority.NEW_ORDER, orders=1)


async def test_without_redis_the_in_process_fallback_still_limits(closed_port_url: str) -> None:
    time = ManualTime()
    client = budget_redis(closed_port_url)
    try:
        budget = RequestBudget(account="nowhere", clock=time.clock, limits=SMALL, redis=client, policy=NO_WAIT,
                               sleep=time.sleep)
        granted = sum([await try_slot(budget, Priority.CANCEL, orders=1) for _ in range(10)])
    finally:
        await client.aclose()

    assert budget.degraded
    assert granted == 5  # half of the 10 orders per 10 s: other processes may be spending too


async def test_at_most_ten_requests_are_in_flight_per_process(account: str, redis: Any) -> None:
    time = ManualTime()
    budget = RequestBudget(account=account, clock=time.clock, limits=VenueLimits(), redis=redis, sleep=time.sleep)
    in_flight = peak = 0
    release = asyncio.Event()

    async def request() -> None:
        nonlocal in_flight, peak
        async with budget.slot(Priority.RECONCILE, weight=1):
            in_flight += 1
            peak = max(peak, in_flight)
            await release.wait()
            in_flight -= 1

    tasks = [asyncio.create_task(request()) for _ in range(25)]
    await asyncio.sleep(0.2)
    assert in_flight == 10
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert peak == 10


async def test_a_free_slot_goes_to_a_waiting_cancel_before_earlier_new_orders(account: str, redis: Any) -> None:
    time = ManualTime()
    budget = RequestBudget(account=account, clock=time.clock, limits=VenueLimits(), redis=redis, sleep=time.sleep,
                           policy=BudgetPolicy(max_in_flight=1))
    order: list[str] = []
    hold = asyncio.Event()

    async def request(name: str, priority: Priority) -> None:
        async with budget.slot(priority, weight=1):
            order.append(name)
            if name == "holder":
                await hold.wait()

    holder = asyncio.create_task(request("holder", Priority.RECONCILE))
    await asyncio.sleep(0.05)
    waiters = [asyncio.create_task(request("new", Priority.NEW_ORDER))]
    await asyncio.sleep(0.05)
    waiters.append(asyncio.create_task(request("cancel", Priority.CANCEL)))
    await asyncio.sleep(0.05)
    hold.set()
    await asyncio.wait_for(asyncio.gather(holder, *waiters), 5)

    assert order == ["holder", "cancel", "new"]


def test_windows_are_the_exchange_calendar_windows() -> None:
    assert Window.ORDERS_10S.start(1_700_000_012_345) == 1_700_000_010_000
    assert Window.WEIGHT_1M.end(1_700_000_012_345) == 1_700_000_040_000
