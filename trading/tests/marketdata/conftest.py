"""Fixtures for market-data tests: real Redis under a prefix of its own, fake or simulated venues, a virtual clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
from redis import asyncio as aioredis

from core.clock import SYSTEM_CLOCK, VirtualClock
from trading.marketdata.redis_bus import Keys, make_redis
from trading.tests.marketdata.fakes import FakeVenue

START_MS = 1_700_000_000_000


@pytest.fixture
def redis_url() -> str:
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = make_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def keys(redis: aioredis.Redis) -> AsyncIterator[Keys]:
    keys = Keys(prefix=f"test-md-{uuid.uuid4().hex[:12]}")
    yield keys
    found = [key async for key in redis.scan_iter(match=f"{keys.prefix}:*")]
    if found:
        await redis.delete(*found)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START_MS)


@pytest.fixture
def venue() -> FakeVenue:
    return FakeVenue()


SIM_KEY, SIM_SECRET = "mdTestKey01", "mdTestSecret01"


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    """The simulated exchange in-process on an ephemeral loopback port; tests drive its prices."""
    from simexchange.server import ServerConfig, SimExchange
    from simexchange.tests.conftest import seed_prices

    config = ServerConfig(source=None, api_key=SIM_KEY, secret=SIM_SECRET, balance=Decimal("100000"))
    async with SimExchange(config) as server:
        await seed_prices(server)
        yield server


@pytest.fixture
async def make_venue(sim: Any, redis_url: str) -> AsyncIterator[Callable[[], Any]]:
    """ccxt venues on the simulated exchange, one per "process", sharing a request budget under a test account."""
    from trading.venues.budget import RequestBudget, budget_redis
    from trading.venues.ccxt_client import VenueConfig
    from trading.venues.ccxt_venue import CcxtVenue

    account = f"test-md-{uuid.uuid4().hex[:10]}"
    budget_client = budget_redis(redis_url)
    venues: list[Any] = []

    def make() -> Any:
        config = VenueConfig(account=account, api_key=SIM_KEY, secret=SIM_SECRET, base_url=sim.base_url,
                             timeout_ms=3_000, stream_backoff_ms=50, stream_backoff_cap_ms=200)
        venue = CcxtVenue(config, clock=SYSTEM_CLOCK,
                          budget=RequestBudget(account=account, clock=SYSTEM_CLOCK, redis=budget_client))
        venues.append(venue)
        return venue

    yield make
    for venue in venues:
        await venue.close()
    leftovers = [key async for key in budget_client.scan_iter(match=f"pms:budget:{account}:*")]
    if leftovers:
        await budget_client.delete(*leftovers)
    await budget_client.aclose()
