"""Redis names and calls for market data: the quotes channel, the price-cache hashes, the demand set."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from trading.marketdata.cache import L1
from trading.marketdata.codec import l1_from_hash, l1_to_hash

# What a Redis outage raises; OSError covers a socket that dies below redis-py's own wrapping and, being
# TimeoutError's base, an asyncio.timeout around a Redis call.
REDIS_ERRORS = (RedisError, OSError)

T = TypeVar("T")

PRICE_TTL_MS = 300_000  # a symbol nobody streams any more drops out of the cache by itself
DEMAND_TTL_MS = 60_000


@dataclass(frozen=True, slots=True)
class Keys:
    """Every market-data key under one prefix, so tests (and a second desk) can use their own."""

    prefix: str = "pms"

    @property
    def quotes_channel(self) -> str:
        return f"{self.prefix}:md:quotes"

    @property
    def demand(self) -> str:
        """Sorted set: symbol -> expiry (ms); a member counts until its expiry passes."""
        return f"{self.prefix}:md:demand"

    def price(self, symbol: str) -> str:
        return f"{self.prefix}:md:price:{symbol}"

    def history(self, symbol: str) -> str:
        """List of "time_ms:price" (the L1 mid, else the mark), oldest first, one per price-cache write."""
        return f"{self.prefix}:md:history:{symbol}"


def make_redis(url: str, *, timeout_s: float = 2.0) -> aioredis.Redis:
    """A client that fails fast when Redis is down (the callers degrade), instead of retrying for seconds."""
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        # One quick retry heals a pooled connection that died with a Redis restart; more would only delay
        # the switch to the fallback.
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
        health_check_interval=5,  # pings an idle pub/sub connection so a silent outage is noticed
    )


async def guarded(awaitable: Awaitable[T]) -> T:
    """Await a redis-py call without losing a cancellation.

    redis-py's asyncio client sometimes swallows a CancelledError that lands mid-command (it disconnects,
    retries, and returns or raises ConnectionError; redis/redis-py#2028), which would leave a cancelled
    task running forever and a TaskGroup or an asyncio.timeout waiting on it. If this task was asked to
    cancel during the call, cancel it now.
    """
    task = asyncio.current_task()
    before = task.cancelling() if task is not None else 0
    try:
        return await awaitable
    finally:
        if task is not None and task.cancelling() > before:
            raise asyncio.CancelledError


HISTORY_POINTS = 3_600  # half an hour at the price cache's two writes a second
HISTORY_TTL_MS = 3_600_000


def history_point(l1: L1) -> str | None:
    if l1.quote is not None:
        return f"{l1.quote.time_ms}:{(l1.quote.bid_price + l1.quote.ask_price) / 2}"
    if l1.mark is not None:
        return f"{l1.mark.time_ms}:{l1.mark.mark_price}"
    return None


def history_parse(raw: Iterable[bytes | str]) -> list[tuple[int, Decimal]]:
    """The points of a history list; a malformed one is skipped (it cannot be drawn, nothing else depends on it)."""
    points = []
    for item in raw:
        text = item.decode() if isinstance(item, bytes) else item
        time_ms, _, price = text.partition(":")
        try:
            point = (int(time_ms), Decimal(price))
        except (ValueError, ArithmeticError):
            continue
        if point[1].is_finite():
            points.append(point)
    return points


async def price_write(redis: aioredis.Redis, keys: Keys, l1s: Iterable[L1], *, ttl_ms: int = PRICE_TTL_MS) -> None:
    pipe = redis.pipeline(transaction=False)  # execute() resets it; no context manager to await on the way out
    for l1 in l1s:
        fields = l1_to_hash(l1)
        if fields:
            pipe.hset(keys.price(l1.symbol), mapping=fields)  # type: ignore[arg-type]
            pipe.pexpire(keys.price(l1.symbol), ttl_ms)
        point = history_point(l1)
        if point is not None:  # the price line of the market page's chart
            pipe.rpush(keys.history(l1.symbol), point)
            pipe.ltrim(keys.history(l1.symbol), -HISTORY_POINTS, -1)
            pipe.pexpire(keys.history(l1.symbol), HISTORY_TTL_MS)
    await guarded(pipe.execute())


async def price_read(redis: aioredis.Redis, keys: Keys, symbol: str) -> L1 | None:
    fields: Mapping[bytes | str, bytes | str] = await guarded(redis.hgetall(keys.price(symbol)))
    return l1_from_hash(symbol, fields) if fields else None


async def demand_add(redis: aioredis.Redis, keys: Keys, symbols: Iterable[str], *, now_ms: int,
                     ttl_ms: int = DEMAND_TTL_MS) -> None:
    """Ask the feed to stream these symbols until now + ttl; call again to refresh."""
    expiry = now_ms + ttl_ms
    members = {symbol: expiry for symbol in symbols}
    if members:
        await guarded(redis.zadd(keys.demand, members))


async def demand_read(redis: aioredis.Redis, keys: Keys, *, now_ms: int) -> set[str]:
    """The symbols whose demand has not expired; expired members are pruned on the way."""
    pipe = redis.pipeline(transaction=False)
    pipe.zremrangebyscore(keys.demand, "-inf", f"({now_ms}")
    pipe.zrangebyscore(keys.demand, now_ms, "+inf")
    _, members = await guarded(pipe.execute())
    return {m.decode() if isinstance(m, bytes) else str(m) for m in members}
