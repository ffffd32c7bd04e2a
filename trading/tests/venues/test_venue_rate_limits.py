"""Two venues (two processes) on one Redis budget against the simulated exchange's rate-limit faults."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from trading.venues.base import Accepted, Rejected
from trading.venues.budget import BudgetPolicy, Priority

from .helpers import limit

pytestmark = pytest.mark.timeout(30)


async def test_after_a_429_no_process_sends_before_retry_after_and_then_the_cancel_goes(
        make_venue: Any, sim: Any) -> None:
    first, second = make_venue(), make_venue()
    await first.instruments()
    await second.instruments()
    assert isinstance(await second.place(limit("PMSrl_LMT_1")), Accepted)
    await sim.add_fault(kind="rate_limit", retry_after_s=2, ban_s=60, count=1)
    loop = asyncio.get_running_loop()
    started = loop.time()

    limited = await first.place(limit("PMSrl_LMT_2"))
    held_back = await second.place(limit("PMSrl_LMT_3"))
    cancelled = await second.cancel(symbol="BTCUSDT", client_order_id="PMSrl_LMT_1")

    assert isinstance(limited, Rejected) and limited.code == -1003 and limited.retry_after_ms == 2_000
    assert isinstance(held_back, Rejected) and held_back.code is None and held_back.retry_after_ms
    # Sending anything before Retry-After would have earned a 418 ban from the server: the cancel got through.
    assert isinstance(cancelled, Accepted)
    assert loop.time() - started >= 1.9
    assert sim.state()["faults_fired"] == {"rate_limit": 1}


async def test_after_a_418_ban_even_a_cancel_is_refused_at_once_without_a_request(
        make_venue: Any, sim: Any) -> None:
    first, second = make_venue(), make_venue()
    await first.instruments()
    await second.instruments()
    await sim.add_fault(kind="rate_limit", retry_after_s=5, ban_s=30, count=1)
    async with aiohttp.ClientSession() as http:  # a client outside the budget earns the ban for the IP
        for _ in range(2):
            async with http.get(sim.base_url + "/fapi/v1/time") as reply:
                await reply.read()

    banned = await first.place(limit("PMSban_LMT_1"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    refused = await second.cancel(symbol="BTCUSDT", client_order_id="PMSban_LMT_0")

    assert isinstance(banned, Rejected) and banned.retry_after_ms is not None and banned.retry_after_ms > 20_000
    assert isinstance(refused, Rejected) and refused.code is None and refused.retry_after_ms
    assert loop.time() - started < 0.5


async def test_minus_1015_holds_new_orders_back_while_cancels_still_go(make_venue: Any, sim: Any) -> None:
    venue = make_venue(BudgetPolicy(max_wait_ms=dict.fromkeys(Priority, 0)))  # refuse rather than wait
    await venue.instruments()
    assert isinstance(await venue.place(limit("PMSol_LMT_1")), Accepted)
    await sim.add_fault(kind="error_before", path="/fapi/v1/order", method="POST", code=-1015, status=400,
                        msg="Too many new orders.", count=1)

    too_many = await venue.place(limit("PMSol_LMT_2"))
    held_back = await venue.place(limit("PMSol_LMT_3"))
    cancelled = await venue.cancel(symbol="BTCUSDT", client_order_id="PMSol_LMT_1")

    assert isinstance(too_many, Rejected) and too_many.code == -1015
    assert isinstance(held_back, Rejected) and held_back.retry_after_ms is not None
    assert isinstance(cancelled, Accepted)
