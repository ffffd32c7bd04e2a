"""Fixtures for the venue tests: real Redis with a unique account per test, and time that tests move by hand."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.clock import VirtualClock
from trading.venues.budget import budget_redis

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
START_MS = 1_700_000_040_000  # a multiple of the minute (and of 10 s): windows start here


class ManualTime:
    """A virtual clock whose sleepers wake only when the test moves time (or at once with `auto`)."""

    def __init__(self, start_ms: int = START_MS, *, auto: bool = False) -> None:
        self.clock = VirtualClock(start_ms)
        self.auto = auto
        self._sleepers: list[tuple[int, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        wake_ms = self.clock.now_ms() + max(1, round(seconds * 1000))
        if self.auto:
            self.clock.advance_to(wake_ms)
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((wake_ms, future))
        await future

    @property
    def sleepers(self) -> int:
        return sum(1 for _, fut in self._sleepers if not fut.done())

    async def advance(self, ms: int) -> None:
        self.clock.advance(ms / 1000)
        now = self.clock.now_ms()
        for wake_ms, future in self._sleepers:
            if wake_ms <= now and not future.done():
                future.set_result(None)
        self._sleepers = [(w, f) for w, f in self._sleepers if not f.done()]
        for _ in range(5):  # let the woken tasks run their next step
            await asyncio.sleep(0)


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    client = budget_redis(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def account(redis: Any) -> AsyncIterator[str]:
    """A unique account name, so each test has its own `pms:budget:{account}:*` keys; removed afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        keys = [key async for key in redis.scan_iter(match=f"pms:budget:{name}:*")]
        if keys:
            await redis.delete(*keys)


@pytest.fixture
def closed_port_url() -> str:
    """A Redis URL where nothing listens: the port was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


SIM_KEY = "venueTestKey01"
SIM_SECRET = "venueTestSecret01"


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    """The simulated exchange in-process on an ephemeral loopback port; prices pushed by the tests."""
    from decimal import Decimal

    from simexchange.server import ServerConfig, SimExchange
    from simexchange.tests.conftest import seed_prices

    config = ServerConfig(source=None, api_key=SIM_KEY, secret=SIM_SECRET, balance=Decimal("100000"))
    async with SimExchange(config) as server:
        await seed_prices(server)
        yield server
        assert server.bugs == [], "the simulated exchange hit its catch-all:\n" + "\n".join(server.bugs)


def venue_config(sim: Any, **overrides: Any) -> Any:
    from trading.venues.ccxt_client import VenueConfig

    fields: dict[str, Any] = {
        "account": "sim", "api_key": SIM_KEY, "secret": SIM_SECRET, "base_url": sim.base_url, "timeout_ms": 3_000,
        "read_backoff_ms": 20, "read_backoff_cap_ms": 100, "stream_backoff_ms": 50, "stream_backoff_cap_ms": 200,
        "ws_heartbeat_s": 5.0,
    }
    fields.update(overrides)
    return VenueConfig(**fields)


@pytest.fixture
async def make_venue(sim: Any, redis: Any, account: str) -> AsyncIterator[Any]:
    """Build venues on the simulated exchange sharing one Redis budget (one per "process"); all closed after."""
    from core.clock import SYSTEM_CLOCK
    from trading.venues.budget import BudgetPolicy, RequestBudget
    from trading.venues.ccxt_venue import CcxtVenue

    venues: list[CcxtVenue] = []

    def make(policy: BudgetPolicy | None = None, **overrides: Any) -> CcxtVenue:
        budget = RequestBudget(account=account, clock=SYSTEM_CLOCK, redis=redis, policy=policy)
        venue = CcxtVenue(venue_config(sim, **overrides), clock=SYSTEM_CLOCK, budget=budget)
        venues.append(venue)
        return venue

    try:
        yield make
    finally:
        for venue in venues:
            await venue.close()


@pytest.fixture
async def venue(make_venue: Any) -> Any:
    return make_venue()
