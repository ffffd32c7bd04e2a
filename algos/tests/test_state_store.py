"""Algo state in the real Redis: TTLs, throttled saves, memory fallback when Redis is down."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.conf import settings
from redis import asyncio as aioredis

from algos.state_store import AlgoStateStore, state_key
from core.clock import VirtualClock


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    yield client
    await client.aclose()


def new_id() -> int:
    return uuid.uuid4().int % 10**12


async def test_a_significant_change_is_saved_at_once_with_the_kinds_ttl(redis):
    algo_id = new_id()
    store = AlgoStateStore(redis=redis, clock=VirtualClock(0))
    assert await store.save("twap", algo_id, {"sent": "0.01"}, significant=True)
    assert await store.load("twap", algo_id) == {"sent": "0.01"}
    assert 12 * 3600 - 5 <= await redis.ttl(state_key("twap", algo_id)) <= 12 * 3600
    await store.delete("twap", algo_id)


async def test_routine_saves_are_throttled_to_one_a_second_and_the_latest_wins(redis):
    clock = VirtualClock(0)
    algo_id = new_id()
    store = AlgoStateStore(redis=redis, clock=clock)
    assert await store.save("chase", algo_id, {"n": 1})
    assert not await store.save("chase", algo_id, {"n": 2})
    assert not await store.save("chase", algo_id, {"n": 3})
    raw = await redis.get(state_key("chase", algo_id))
    assert raw == b'{"n": 1}'
    clock.advance(1)
    assert await store.flush() == 1
    assert await redis.get(state_key("chase", algo_id)) == b'{"n": 3}'
    await store.delete("chase", algo_id)


async def test_with_redis_down_the_state_is_kept_in_memory_and_saved_when_it_returns(redis):
    algo_id = new_id()
    down = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    store = AlgoStateStore(redis=down, clock=VirtualClock(0))
    assert not await store.save("scalper", algo_id, {"slots": 3}, significant=True)
    assert await store.load("scalper", algo_id) == {"slots": 3}  # from memory
    store.redis = redis  # Redis is back
    assert await store.flush() == 1
    assert await redis.get(state_key("scalper", algo_id)) == b'{"slots": 3}'
    await down.aclose()
    await store.delete("scalper", algo_id)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown algo kind"):
        state_key("martingale", 1)
