"""Emitting a time-ordered event stream in real time, N times faster, or as fast as possible."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from simexchange.marketdata import MarketEvent

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]

MAX_SPEED = 0.0  # speed 0 means "no pacing"


def parse_speed(text: str) -> float:
    """`1`, `10`, `10x`, `0.5` -> that factor; `max` or `0` -> MAX_SPEED."""
    cleaned = text.strip().lower()
    if cleaned in ("max", "0"):
        return MAX_SPEED
    cleaned = cleaned.removesuffix("x")
    speed = float(cleaned)
    if not speed > 0:  # also rejects nan
        raise ValueError(f"speed must be positive or 'max', got {text!r}")
    return speed


async def paced(
    events: Iterable[MarketEvent],
    *,
    speed: float,
    sleep: Sleep = asyncio.sleep,
    monotonic: Monotonic = time.monotonic,
    max_gap_ms: int | None = None,
    yield_every: int = 500,
) -> AsyncIterator[MarketEvent]:
    """Yield events so that event time advances `speed` times as fast as the monotonic clock.

    The schedule is anchored on the first event and computed from the clock, not by summing
    sleeps, so it does not drift; a consumer that falls behind gets the late events at once. A gap
    in event time longer than max_gap_ms (e.g. between two recordings) is shortened to max_gap_ms.
    Without a real sleep for yield_every events (MAX_SPEED, or catching up) the loop gets a turn (sleep(0)).
    """
    if speed < 0:
        raise ValueError("speed must be >= 0")
    if speed == MAX_SPEED:
        async for event in _unpaced(events, sleep, yield_every):
            yield event
        return
    start_wall: float | None = None
    start_event_ms = previous_ms = 0
    since_sleep = 0
    for event in events:
        at_ms = event.event_time_ms
        if start_wall is None:
            start_wall, start_event_ms, previous_ms = monotonic(), at_ms, at_ms
        if max_gap_ms is not None and at_ms - previous_ms > max_gap_ms:
            start_event_ms += at_ms - previous_ms - max_gap_ms  # pretend the gap was max_gap_ms long
        previous_ms = at_ms
        delay = start_wall + (at_ms - start_event_ms) / 1000 / speed - monotonic()
        if delay > 0:
            await sleep(delay)
            since_sleep = 0
        elif (since_sleep := since_sleep + 1) >= yield_every:
            await sleep(0)  # a consumer catching up must not starve the event loop
            since_sleep = 0
        yield event


async def _unpaced(events: Iterable[MarketEvent], sleep: Sleep, yield_every: int) -> AsyncIterator[MarketEvent]:
    for count, event in enumerate(events, start=1):
        yield event
        if count % yield_every == 0:
            await sleep(0)
