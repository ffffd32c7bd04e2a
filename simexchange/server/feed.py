"""The market-data loop: price source -> pacer -> matching core -> stream payloads and user events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping

import orjson

from simexchange import wire
from simexchange.core import SymbolSpec
from simexchange.marketdata import BookTicker, MarketEvent, MarkPrice, Trade
from simexchange.server.streams import StreamHub
from simexchange.server.tickers import TickerBook, mini_ticker
from simexchange.sources import paced

log = logging.getLogger(__name__)


def _dumps(payload: object) -> str:
    return orjson.dumps(payload).decode()


async def publish_market_event(
    hub: StreamHub, specs: Mapping[str, SymbolSpec], tickers: TickerBook, event: MarketEvent
) -> None:
    """Send one market event to every stream that carries it (rendering only what someone listens to)."""
    spec = specs.get(event.symbol)
    if spec is None:  # a replayed symbol the exchange does not list
        return
    if isinstance(event, BookTicker):
        await _publish_book_ticker(hub, spec, event)
    elif isinstance(event, Trade):
        tickers.add(event)
        await _publish_trade(hub, spec, event)
        await _publish_ticker(hub, tickers, event)
    elif isinstance(event, MarkPrice):
        await _publish_mark(hub, event)


async def _publish_ticker(hub: StreamHub, tickers: TickerBook, event: Trade) -> None:
    prefix = event.symbol.lower()
    full_names, mini_names = (prefix + "@ticker", "!ticker@arr"), (prefix + "@miniTicker", "!miniTicker@arr")
    if not any(hub.has_subscribers(name) for name in full_names + mini_names):
        return
    payload = tickers.payload(event.symbol, event.event_time_ms)
    if payload is None:
        return
    mini = mini_ticker(payload)
    for (single, array), data in ((full_names, payload), (mini_names, mini)):
        await hub.publish(single, _dumps(data))
        await hub.publish(array, _dumps([data]))


async def _publish_book_ticker(hub: StreamHub, spec: SymbolSpec, event: BookTicker) -> None:
    stream = event.symbol.lower() + "@bookTicker"
    if hub.has_subscribers(stream) or hub.has_subscribers("!bookTicker"):
        text = _dumps(wire.book_ticker(event, spec))
        await hub.publish(stream, text)
        await hub.publish("!bookTicker", text)


async def _publish_trade(hub: StreamHub, spec: SymbolSpec, event: Trade) -> None:
    prefix = event.symbol.lower()
    if hub.has_subscribers(prefix + "@trade"):
        await hub.publish(prefix + "@trade", _dumps(wire.trade(event, spec)))
    if hub.has_subscribers(prefix + "@aggTrade"):
        await hub.publish(prefix + "@aggTrade", _dumps(wire.agg_trade(event, spec)))


async def _publish_mark(hub: StreamHub, event: MarkPrice) -> None:
    prefix = event.symbol.lower()
    names = (prefix + "@markPrice@1s", prefix + "@markPrice")
    arrays = ("!markPrice@arr@1s", "!markPrice@arr")
    if not any(hub.has_subscribers(n) for n in names + arrays):
        return
    payload = wire.mark_price_update(event)
    text = _dumps(payload)
    for name in names:
        await hub.publish(name, text)
    if any(hub.has_subscribers(n) for n in arrays):
        array_text = _dumps([payload])
        for name in arrays:
            await hub.publish(name, array_text)


class MarketFeed:
    """Runs the source through the pacer into the engine; pausable so tests can subscribe first."""

    def __init__(
        self,
        *,
        events: Iterable[MarketEvent],
        speed: float,
        on_market_event: Callable[[MarketEvent], object],
        publish: Callable[[MarketEvent], Awaitable[None]],
        on_error: Callable[[BaseException], None],
        started: bool = True,
    ) -> None:
        self._events = events
        self._speed = speed
        self._on_market_event = on_market_event
        self._publish = publish
        self._on_error = on_error
        self._running = asyncio.Event()
        if started:
            self._running.set()
        self.processed = 0
        self.finished = asyncio.Event()
        self.last_event_ms = 0

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    async def run(self) -> None:
        try:
            await self._running.wait()
            async for event in paced(self._events, speed=self._speed):
                if not self._running.is_set():
                    await self._running.wait()
                try:
                    self._on_market_event(event)
                except Exception as exc:  # a core bug: recorded, and the feed goes on (degrade, don't crash)
                    self._on_error(exc)
                await self._publish(event)
                self.processed += 1
                self.last_event_ms = event.event_time_ms
        finally:
            self.finished.set()
