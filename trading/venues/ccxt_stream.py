"""The user-data stream (raw websocket, every event kept) and the quote streams (ccxt pro), with reconnects.

The user stream reads Binance's raw messages itself rather than through ccxt's watch_orders: ccxt
drops `listenKeyExpired` (no handler), so a stream whose key expired would go silent, and it folds
ORDER_TRADE_UPDATE into caches where a duplicate or a gap cannot be told apart. Here every
ORDER_TRADE_UPDATE becomes an OrderEvent; any break (disconnect, expired key, unreadable event) is
reported as StreamInterrupted, and the reconnect as StreamResumed(since_ms=last event time), so the
engine reconciles the gap over REST before it trades again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
import ccxt
import orjson

from core.errors import VenueError
from trading.venues.base import Mark, Quote, StreamInterrupted, StreamResumed, UserEvent
from trading.venues.ccxt_client import VenueConfig
from trading.venues.ccxt_errors import CallFailed
from trading.venues.ccxt_parse import account_event, mark_from_update, order_event, quote_from_book_ticker

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]
STREAM_ERRORS = (aiohttp.ClientError, aiohttp.WSServerHandshakeError, TimeoutError, OSError, VenueError, CallFailed)


class StreamBroken(Exception):
    """The stream can no longer be trusted (expired key, unreadable event): reconnect and reconcile."""


def backoff_ms(attempt: int, base_ms: int, cap_ms: int, rng: random.Random) -> int:
    """Exponential with equal jitter: half fixed (so it grows), half random (so processes spread out)."""
    ceiling = min(cap_ms, base_ms * 2 ** min(attempt, 20))
    return ceiling // 2 + rng.randint(0, ceiling // 2)


def decode_user_message(data: Mapping[str, Any]) -> UserEvent | None:
    """One raw user-data message → an event; None for kinds we do not use; StreamBroken when delivery ended."""
    payload = data.get("data", data) if "stream" in data else data
    kind = payload.get("e")
    if kind == "ORDER_TRADE_UPDATE":
        return order_event(payload)
    if kind == "ACCOUNT_UPDATE":
        return account_event(payload)
    if kind == "listenKeyExpired":
        raise StreamBroken("listenKeyExpired")
    log.debug("user stream: ignoring %s event", kind)  # ALGO_UPDATE, TRADE_LITE, MARGIN_CALL, ...
    return None


class UserStream:
    """One account's user-data stream as an endless async iterator of UserEvent."""

    def __init__(self, *, open_key: Callable[[], Awaitable[str]], keep_alive: Callable[[str], Awaitable[None]],
                 url_for: Callable[[str], str], session: Callable[[], aiohttp.ClientSession],
                 exchange_now_ms: Callable[[], int], config: VenueConfig, rng: random.Random,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._open_key = open_key
        self._keep_alive = keep_alive
        self._url_for = url_for
        self._session = session
        self._now = exchange_now_ms
        self._config = config
        self._rng = rng
        self._sleep = sleep
        self.last_event_ms = 0

    async def events(self) -> AsyncIterator[UserEvent]:
        self.last_event_ms = self._now()  # nothing before the first connect is covered by the stream
        interrupted, attempt = False, 0
        while True:
            try:
                key = await self._open_key()
                async with self._session().ws_connect(self._url_for(key), heartbeat=self._config.ws_heartbeat_s,
                                                      timeout=aiohttp.ClientWSTimeout(ws_close=5.0)) as ws:
                    if interrupted:
                        yield StreamResumed(since_ms=self.last_event_ms, event_ms=self._now())
                        interrupted, attempt = False, 0
                    async for event in self._connected(ws, key):
                        yield event
                reason = "closed by the exchange"
            except StreamBroken as exc:
                reason = str(exc)
            except STREAM_ERRORS as exc:
                reason = f"{type(exc).__name__}: {exc}"
            log.warning("user stream interrupted: %s", reason)
            if not interrupted:
                yield StreamInterrupted(reason=reason, event_ms=self._now())
                interrupted = True
            await self._sleep(backoff_ms(attempt, self._config.stream_backoff_ms,
                                         self._config.stream_backoff_cap_ms, self._rng) / 1000)
            attempt += 1

    async def _connected(self, ws: aiohttp.ClientWebSocketResponse, key: str) -> AsyncIterator[UserEvent]:
        renewer = asyncio.create_task(self._renew(ws, key), name="listen-key-keepalive")
        try:
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue  # aiohttp answers pings itself; ERROR/CLOSE end the iteration
                event = self._decode(message.data)
                if event is not None:
                    self.last_event_ms = max(self.last_event_ms, _event_ms(event))
                    yield event
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    def _decode(self, text: str) -> UserEvent | None:
        try:
            data = orjson.loads(text)
            return decode_user_message(data) if isinstance(data, dict) else None
        except StreamBroken:
            raise
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            # An event we cannot read is an event lost: report a gap so the engine reconciles it.
            log.error("user stream: unreadable event %r: %s", text[:500], exc)
            raise StreamBroken(f"unreadable event: {exc}") from exc

    async def _renew(self, ws: aiohttp.ClientWebSocketResponse, key: str) -> None:
        while True:
            await self._sleep(self._config.listen_key_keepalive_s)
            try:
                await self._keep_alive(key)
            except (VenueError, CallFailed) as exc:
                if getattr(exc, "code", None) == -1125:  # the key is gone: a new one means a new connection
                    log.warning("listenKey keep-alive: unknown key; reconnecting")
                    await ws.close()
                    return
                log.warning("listenKey keep-alive failed (%s); retrying at the next interval", exc)


def _event_ms(event: UserEvent) -> int:
    return event.event_ms


class _Latest:
    """A bounded queue that drops the oldest quote rather than block the socket reader (quotes are lossy)."""

    def __init__(self, size: int = 10_000) -> None:
        self.queue: asyncio.Queue[Quote | Mark | BaseException] = asyncio.Queue(maxsize=size)

    def offer(self, item: Quote | Mark | BaseException) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(item)


async def _pump(watch: Callable[[], Awaitable[dict[str, Any]]], parse: Callable[[str, Any], Quote | Mark],
                out: _Latest, config: VenueConfig, rng: random.Random, sleep: Sleep) -> None:
    """Call a ccxt watch method forever; a dropped socket is reconnected (by ccxt) after a backoff."""
    attempt = 0
    while True:
        try:
            tickers = await watch()
        except ccxt.BaseError as exc:
            log.warning("quote stream: %s; reconnecting", exc)
            await sleep(backoff_ms(attempt, config.stream_backoff_ms, config.stream_backoff_cap_ms, rng) / 1000)
            attempt += 1
            continue
        attempt = 0
        for ticker in tickers.values():
            info = ticker.get("info") or {}
            out.offer(parse(str(info.get("s", "")), info))


async def _guarded(pump: Awaitable[None], out: _Latest) -> None:
    try:
        await pump
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a parsing bug must reach the consumer, not die silently in a background task
        out.offer(exc)
        raise


async def quote_stream(exchange: Any, symbols: Sequence[str], config: VenueConfig, rng: random.Random,
                       sleep: Sleep = asyncio.sleep) -> AsyncIterator[Quote | Mark]:
    """bookTicker and markPrice@1s for `symbols` (ccxt unified), merged; latest value wins downstream."""
    out = _Latest()
    names = list(symbols)
    pumps = [
        asyncio.create_task(_guarded(_pump(lambda: exchange.watch_bids_asks(names), quote_from_book_ticker,
                                           out, config, rng, sleep), out)),
        asyncio.create_task(_guarded(_pump(lambda: exchange.watch_mark_prices(names), mark_from_update,
                                           out, config, rng, sleep), out)),
    ]
    try:
        while True:
            item = await out.queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        for task in pumps:
            task.cancel()
        for task in pumps:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
