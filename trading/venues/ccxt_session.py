"""The request path under the Venue: budget, one classified ccxt call, bounded read retries, clock, markets."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import ccxt

from core.clock import Clock
from core.errors import VenueRejected
from trading.venues.budget import BudgetExhausted, RequestBudget
from trading.venues.ccxt_client import EXCHANGE_INFO, TIME, Endpoint, VenueConfig, build_exchange
from trading.venues.ccxt_errors import CAPTURE, CallFailed, Capture, Failure, classify
from trading.venues.ccxt_parse import limits_from_exchange_info
from trading.venues.ccxt_stream import backoff_ms

log = logging.getLogger(__name__)
T = TypeVar("T")


class LocalRefusal(Exception):
    """Refused before sending: unknown symbol, or a number ccxt would silently round."""


class CcxtSession:
    """One exchange account's ccxt client with the shared budget in front. Close it (it owns sockets)."""

    def __init__(self, config: VenueConfig, *, clock: Clock, budget: RequestBudget, exchange: Any = None,
                 rng: random.Random | None = None, owns_budget: bool = False) -> None:
        self.config = config
        self.budget = budget
        self._owns_budget = owns_budget
        self._clock = clock
        self._ex = exchange if exchange is not None else build_exchange(config)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not crypto
        self._unified: dict[str, str] = {}
        self._ready = asyncio.Lock()
        self._time_offset_ms = 0
        self._synced_at_ms: int | None = None
        self._session: aiohttp.ClientSession | None = None

    # --- time (RELIABILITY #9) --------------------------------------------------------------------

    @property
    def time_offset_ms(self) -> int:
        """Exchange time minus our clock, as last measured."""
        return self._time_offset_ms

    async def sync_time(self) -> int:
        """Measure the exchange clock (midpoint of the round trip); signing and budget windows follow it."""
        before, ccxt_before = self._clock.now_ms(), self._ex.milliseconds()
        server_ms = int(await self._call(TIME, self._ex.fetch_time))
        after, ccxt_after = self._clock.now_ms(), self._ex.milliseconds()
        self._time_offset_ms = server_ms - (before + after) // 2
        # ccxt signs with its own clock: nonce = milliseconds() - timeDifference.
        self._ex.options["timeDifference"] = (ccxt_before + ccxt_after) // 2 - server_ms
        self.budget.offset_ms = self._time_offset_ms
        self._synced_at_ms = after
        if abs(self._time_offset_ms) > self.config.clock_skew_alert_ms:
            log.warning("exchange clock differs from ours by %d ms", self._time_offset_ms)
        return self._time_offset_ms

    async def _resync_quietly(self) -> None:
        try:
            await self.sync_time()
        except CallFailed as exc:
            log.warning("clock resync failed: %s", exc)

    # --- markets ----------------------------------------------------------------------------------

    async def _ensure_ready(self) -> bool:
        """Clock measured recently and markets loaded; True when the markets were loaded just now."""
        if self._unified and not self._resync_due():
            return False
        async with self._ready:
            if self._resync_due():
                await self._resync_quietly()
            if self._unified:
                return False
            await self._load_markets()
            return True

    def _resync_due(self) -> bool:
        synced = self._synced_at_ms
        return synced is None or self._clock.now_ms() - synced > self.config.time_resync_ms

    async def _load_markets(self) -> None:
        markets = await self._read_once(EXCHANGE_INFO, self._ex.load_markets, True)
        self._unified = {m["id"]: m["symbol"] for m in markets.values() if m.get("linear") and m.get("swap")}
        # ccxt keeps the symbols but drops exchangeInfo's rateLimits: ask again (weight 1) to size the budget.
        info = await self._read_once(EXCHANGE_INFO, self._ex.fapiPublicGetExchangeInfo)
        self.budget.resize(limits_from_exchange_info(info.get("rateLimits", [])))

    def _symbol(self, symbol: str) -> str:
        try:
            return self._unified[symbol]
        except KeyError:
            raise LocalRefusal(f"unknown symbol {symbol}") from None

    # --- the request path -------------------------------------------------------------------------

    async def _call(self, endpoint: Endpoint, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """One request under the budget; a failure comes out as CallFailed, classified."""
        capture = Capture()
        token = CAPTURE.set(capture)
        try:
            async with self.budget.slot(endpoint.priority, weight=endpoint.weight, orders=endpoint.orders):
                started = self._clock.now_ms()
                try:
                    return await asyncio.wait_for(fn(*args), self.config.timeout_ms / 1000 + 1)
                except (ccxt.BaseError, aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
                    raise await self._failed(exc, capture) from exc
                finally:
                    await self.budget.observe(status=capture.status, headers=capture.headers, started_ms=started)
        except BudgetExhausted as exc:
            kind = Failure.BANNED if exc.banned else Failure.RATE_LIMITED
            raise CallFailed(kind, exc.reason, status=exc.status, retry_after_ms=exc.retry_after_ms) from exc
        finally:
            CAPTURE.reset(token)

    async def _failed(self, exc: BaseException, capture: Capture) -> CallFailed:
        failure = classify(exc, capture)
        if failure.code == -1015:
            await self.budget.note_order_limit()
        return failure

    async def _read_once(self, endpoint: Endpoint, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        try:
            return await self._read(endpoint, fn, *args)
        except CallFailed as exc:
            raise exc.read_error() from exc

    async def _read(self, endpoint: Endpoint, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """A read, retried on clock, network and ambiguous failures; never on rate limits (the budget waits)."""
        attempts = self.config.read_attempts
        for attempt in range(attempts):
            try:
                return await self._call(endpoint, fn, *args)
            except CallFailed as exc:
                if attempt + 1 >= attempts or exc.kind not in (Failure.CLOCK, Failure.AMBIGUOUS, Failure.NOT_SENT):
                    raise
                if exc.kind is Failure.CLOCK:
                    await self._resync_quietly()
                else:
                    delay = backoff_ms(attempt, self.config.read_backoff_ms, self.config.read_backoff_cap_ms, self._rng)
                    await asyncio.sleep(delay / 1000)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _checked_read(self, endpoint: Endpoint, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        await self._ensure_ready()
        try:
            return await self._read(endpoint, fn, *args)
        except CallFailed as exc:
            raise exc.read_error() from exc

    async def _write(self, endpoint: Endpoint, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """A write, sent once. On a clock refusal the clock is resynced for the caller's next attempt."""
        try:
            return await self._call(endpoint, fn, *args)
        except CallFailed as exc:
            if exc.kind is Failure.CLOCK:
                await self._resync_quietly()
            raise

    def _symbol_or_reject(self, symbol: str) -> str:
        try:
            return self._symbol(symbol)
        except LocalRefusal as exc:
            raise VenueRejected(str(exc)) from exc

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
                total=None, connect=self.config.timeout_ms / 1000, sock_connect=self.config.timeout_ms / 1000))
        return self._session

    async def close(self) -> None:
        """Close the websocket session, the ccxt client (its HTTP and websocket clients) and an owned budget."""
        try:
            if self._session is not None:
                await self._session.close()
            await self._ex.close()
        finally:
            if self._owns_budget:
                await self.budget.close()
