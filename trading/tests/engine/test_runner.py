"""The engine's stream consumer fails closed and reconciles after a restart (RELIABILITY #8)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from trading.domain.client_ids import OrderOrigin
from trading.domain.records import FillBooked, FillReport, OrderIntent
from trading.domain.types import OrderType, Side
from trading.engine.hooks import discard_events
from trading.engine.runner import Engine

from .harness import ALPHA, make_harness

D = Decimal


async def test_a_booking_failure_pauses_orders_and_the_restarted_consumer_books_the_gap():
    h = await make_harness()
    engine = Engine(venue=h.venue, journal=h.journal, database_url="", publish=discard_events, clock=h.clock)
    engine.manager = h.manager
    engine.router = h.router
    book = h.journal.fill_book_many
    failures = {"left": 1}

    async def database_down_once(reports: list[FillReport]) -> list[FillBooked | None]:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("database restarting")
        return await book(reports)

    h.journal.fill_book_many = database_down_once  # type: ignore[method-assign]
    await h.manager.place(OrderIntent(ALPHA, "BTCUSDT", Side.BUY, OrderType.MARKET, D("0.010"),
                                      origin=OrderOrigin.MKT))
    with pytest.raises(ExceptionGroup):
        await asyncio.wait_for(engine._consume_user_stream(), timeout=5)
    assert h.manager.paused_reason is not None and "fill booking failed" in h.manager.paused_reason
    assert (ALPHA, "BTCUSDT") not in h.journal.positions_by_key  # the event was lost with the failed batch

    restarted = asyncio.create_task(engine._consume_user_stream())
    await asyncio.sleep(0.1)  # the restart reconciles before it consumes
    restarted.cancel()
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.010")
    assert h.manager.paused_reason is None
