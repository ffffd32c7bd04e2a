"""One request/order budget per exchange account, shared by every process through Redis.

Sized from exchangeInfo `rateLimits` (VenueLimits) and corrected upwards from the usage headers the
exchange returns (X-MBX-USED-WEIGHT-1M, X-MBX-ORDER-COUNT-10S, X-MBX-ORDER-COUNT-1M). Each request
first takes its weight and order count from the calendar windows (atomically, in one Lua script), then
one of at most `max_in_flight` slots of this process.

Priorities: cancels > reconciliation > new orders. Each may fill a window only up to its share
(cancels 100 %, reconciliation 85 %, new orders 70 % by default): when tokens are scarce a new order
waits or is refused while a cancel still goes.

Retry-After (stored in Redis as `pms:budget:{account}:blocked_until`, so every process honours it):
- 429 (too many requests): a pause. Nothing is sent before Retry-After by any process, because a request
  in the pause is what turns a 429 into a 418 ban. Non-essential calls are *refused* at once (new orders
  and amends: BudgetExhausted, so algos coalesce their reprices instead of flushing a stale backlog);
  essential calls *queue*: cancels resume exactly at Retry-After, reconciliation a moment later, so
  cancels go first.
- 418 (IP ban): everything, cancels included, is refused at once until Retry-After; waiting minutes
  inside a call would hide the outage. The caller fails closed and reconciles afterwards.

Redis down: the budget degrades to per-process counters at `fallback_percent` of the limits (other
processes spend too), logs once, and retries Redis every `redis_retry_ms`. Never crashes a caller.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from redis.exceptions import RedisError

from core.clock import Clock
from trading.engine.metrics import METRICS
from trading.venues.base import VenueLimits
from trading.venues.budget_slots import PrioritySlots
from trading.venues.budget_store import Block, Charge, MemoryWindows, RedisWindows, Verdict, Window

log = logging.getLogger(__name__)


class Priority(IntEnum):
    """Lower is more urgent."""

    CANCEL = 0
    RECONCILE = 1
    NEW_ORDER = 2


class BudgetExhausted(Exception):
    """The request was not sent: the budget is spent or the exchange asked us to stop until `retry_at_ms`."""

    def __init__(self, reason: str, *, retry_after_ms: int, banned: bool = False, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after_ms = retry_after_ms
        self.banned = banned
        self.status = status  # 429/418 when the exchange imposed the pause; None when our own budget is spent


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    share_percent: Mapping[Priority, int] = field(
        default_factory=lambda: {Priority.CANCEL: 100, Priority.RECONCILE: 85, Priority.NEW_ORDER: 70})
    max_wait_ms: Mapping[Priority, int] = field(
        default_factory=lambda: {Priority.CANCEL: 15_000, Priority.RECONCILE: 10_000, Priority.NEW_ORDER: 2_000})
    max_in_flight: int = 10
    fallback_percent: int = 50
    redis_retry_ms: int = 5_000
    ban_default_ms: int = 120_000  # a 418 without Retry-After
    pause_default_ms: int = 10_000  # a 429 without Retry-After
    # Added to every Retry-After: processes measure the exchange clock independently, a few ms apart, and
    # one that wakes a hair early turns the pause into a ban.
    pause_margin_ms: int = 500
    usage_sync_ms: int = 1_000  # how often usage headers are pushed to Redis while windows are under half spent
    resume_jitter_ms: tuple[int, int] = (50, 250)  # non-cancels wake this much after a pause ends


USAGE_HEADERS = {
    "x-mbx-used-weight-1m": Window.WEIGHT_1M,
    "x-mbx-order-count-10s": Window.ORDERS_10S,
    "x-mbx-order-count-1m": Window.ORDERS_1M,
}

Sleep = Callable[[float], Awaitable[Any]]


class RequestBudget:
    """The shared budget of one exchange account; one instance per process, injected into the venue."""

    def __init__(self, *, account: str, clock: Clock, limits: VenueLimits | None = None, redis: Any = None,
                 policy: BudgetPolicy | None = None, key_prefix: str = "pms:budget",
                 sleep: Sleep = asyncio.sleep, rng: random.Random | None = None, owns_redis: bool = False) -> None:
        self.account = account
        self.limits = limits or VenueLimits()
        self.policy = policy or BudgetPolicy()
        self.offset_ms = 0  # exchange time minus our clock: windows are the exchange's calendar windows
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not crypto
        self._memory = MemoryWindows()
        self._redis = RedisWindows(redis, f"{key_prefix}:{account}") if redis is not None else None
        self._redis_client = redis if owns_redis else None
        self._redis_down_until = 0
        self._usage_synced_at = -(2**62)
        self._degraded = False
        self._slots = PrioritySlots(self.policy.max_in_flight)

    # --- public API -----------------------------------------------------------------------------

    def now_ms(self) -> int:
        return self._clock.now_ms() + self.offset_ms

    def resize(self, limits: VenueLimits) -> None:
        self.limits = limits

    async def close(self) -> None:
        """Close the Redis client if this budget created it (the factory's budgets do)."""
        if self._redis_client is not None:
            await self._redis_client.aclose()
            self._redis_client = None

    @property
    def degraded(self) -> bool:
        """True while Redis is unreachable and this process counts on its own."""
        return self._degraded

    @asynccontextmanager
    async def slot(self, priority: Priority, *, weight: int, orders: int = 0) -> AsyncIterator[None]:
        """Hold tokens and an in-flight slot for one request; raises BudgetExhausted instead of sending."""
        deadline = self.now_ms() + self.policy.max_wait_ms[priority]
        while True:
            await self._reserve(priority, weight, orders, deadline)
            await self._slots.acquire(priority)
            # A 429 may have arrived while we queued for a slot: never send into a pause.
            if self._memory.current_block(self.now_ms()) is None:
                break
            self._slots.release()
        try:
            yield
        finally:
            self._slots.release()

    async def observe(self, *, status: int | None, headers: Mapping[str, str] | None, started_ms: int) -> None:
        """Learn from one response: correct the windows from the usage headers; honour 429/418 Retry-After."""
        now = self.now_ms()
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        if status in (429, 418):
            await self._block(now, status, lowered.get("retry-after"))
        used = []
        for name, window in USAGE_HEADERS.items():
            reported = _int_or_none(lowered.get(name))
            # A response that crossed a window boundary reports the old window: it would wrongly fill the new one.
            if reported is not None and window.start(started_ms + self.offset_ms) == window.start(now):
                used.append((window, reported))
        for window, reported in used:
            if window is Window.ORDERS_10S:  # what the exchange says is left of the tightest order window
                METRICS.budget_tokens.set(max(0, self.limits.orders_per_10s - reported))
        if used:
            await self._memory.raise_used(now, used)
            if self._usage_sync_due(now, used):
                await self._redis_call("raise_used", now, used)

    def _usage_sync_due(self, now: int, used: list[tuple[Window, int]]) -> bool:
        """Headers correct the shared count; sending every one to Redis would double its round trips.

        Sent at most every `usage_sync_ms`, and always once a window is half spent, when it matters.
        """
        limits = {Window.WEIGHT_1M: self.limits.request_weight_per_minute,
                  Window.ORDERS_10S: self.limits.orders_per_10s, Window.ORDERS_1M: self.limits.orders_per_minute}
        if now < self._usage_synced_at + self.policy.usage_sync_ms and all(
                reported * 2 < limits[window] for window, reported in used):
            return False
        self._usage_synced_at = now
        return True

    async def note_order_limit(self) -> None:
        """-1015 (too many new orders): treat the order windows as full until they roll over."""
        now = self.now_ms()
        await self._call_store("raise_used", now, [(Window.ORDERS_10S, self.limits.orders_per_10s)])

    async def current_block(self) -> Block | None:
        """The pause in force for this process (its own knowledge; Redis is asked on the next request)."""
        return self._memory.current_block(self.now_ms())

    # --- internals --------------------------------------------------------------------------------

    def _charges(self, priority: Priority, weight: int, orders: int, percent: int) -> list[Charge]:
        share = self.policy.share_percent[priority] * percent
        limits = self.limits
        charges = [Charge(Window.WEIGHT_1M, weight, limits.request_weight_per_minute * share // 10_000)]
        if orders:
            charges.append(Charge(Window.ORDERS_10S, orders, limits.orders_per_10s * share // 10_000))
            charges.append(Charge(Window.ORDERS_1M, orders, limits.orders_per_minute * share // 10_000))
        return charges

    async def _reserve(self, priority: Priority, weight: int, orders: int, deadline: int) -> None:
        while True:
            now = self.now_ms()
            verdict = await self._take(now, priority, weight, orders)
            if verdict.granted:
                return
            retry_at = self._wake_time(verdict, priority)
            block = verdict.block
            if block is not None and (block.kind == "418" or priority is Priority.NEW_ORDER):
                raise BudgetExhausted(f"paused by the exchange ({block.kind}) until {block.until_ms}",
                                      retry_after_ms=block.until_ms - now, banned=block.kind == "418",
                                      status=int(block.kind))
            if retry_at > deadline:
                raise BudgetExhausted(f"request budget spent for {priority.name.lower()} until {retry_at}",
                                      retry_after_ms=retry_at - now,
                                      status=int(block.kind) if block is not None else None)
            await self._sleep(max(0, retry_at - now) / 1000)

    def _wake_time(self, verdict: Verdict, priority: Priority) -> int:
        if priority is Priority.CANCEL:
            return verdict.retry_at_ms
        low, high = self.policy.resume_jitter_ms
        return verdict.retry_at_ms + self._rng.randint(low, high)

    async def _take(self, now: int, priority: Priority, weight: int, orders: int) -> Verdict:
        block = self._memory.current_block(now)
        if block is not None:
            return Verdict(granted=False, retry_at_ms=block.until_ms, block=block)
        if self._redis_usable(now):
            try:
                verdict = await self._redis_take(now, priority, weight, orders)
            except (RedisError, OSError) as exc:
                self._redis_failed(now, exc)
            else:
                if verdict.block is not None:  # learnt from another process: remember it locally too
                    await self._memory.block(now, verdict.block)
                return verdict
        charges = self._charges(priority, weight, orders, self.policy.fallback_percent)
        return await self._memory.take(now, charges)

    async def _redis_take(self, now: int, priority: Priority, weight: int, orders: int) -> Verdict:
        assert self._redis is not None  # noqa: S101 - guarded by _redis_usable
        verdict = await self._redis.take(now, self._charges(priority, weight, orders, 100))
        self._redis_recovered()
        return verdict

    async def _block(self, now: int, status: int, retry_after: str | None) -> None:
        seconds = _int_or_none(retry_after)
        if seconds is not None:
            until = now + seconds * 1000 + self.policy.pause_margin_ms
        elif status == 418:
            until = now + self.policy.ban_default_ms
        else:  # Binance sends Retry-After with a 429; without one, pause briefly rather than guess a minute
            until = now + self.policy.pause_default_ms
        block = Block(until_ms=until, kind=str(status))
        log.warning("exchange answered %s: no requests for account %s until %s (in %d ms)",
                    status, self.account, until, until - now)
        await self._memory.block(now, block)
        if self._redis_usable(now):
            try:
                await self._redis.block(now, block)  # type: ignore[union-attr]
            except (RedisError, OSError) as exc:
                self._redis_failed(now, exc)

    async def _call_store(self, method: str, *args: Any) -> None:
        await getattr(self._memory, method)(*args)
        await self._redis_call(method, *args)

    async def _redis_call(self, method: str, *args: Any) -> None:
        now = self.now_ms()
        if self._redis_usable(now):
            try:
                await getattr(self._redis, method)(*args)
            except (RedisError, OSError) as exc:
                self._redis_failed(now, exc)

    def _redis_usable(self, now: int) -> bool:
        return self._redis is not None and now >= self._redis_down_until

    def _redis_failed(self, now: int, exc: BaseException) -> None:
        self._redis_down_until = now + self.policy.redis_retry_ms
        if not self._degraded:
            self._degraded = True
            log.warning("request budget for %s: Redis unavailable (%s); counting in-process at %d%% until it is back",
                        self.account, exc, self.policy.fallback_percent)

    def _redis_recovered(self) -> None:
        if self._degraded:
            self._degraded = False
            log.info("request budget for %s: Redis is back; sharing the budget again", self.account)


def budget_redis(url: str) -> Any:
    """A Redis client that fails fast: an outage must cost the trading path milliseconds, not seconds."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.25, retry=Retry(NoBackoff(), 0))


def _int_or_none(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(str(text).strip())
    except ValueError:
        return None
