"""The one source of "now": a live clock and a virtual clock for tests and backtests."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What code that needs the time depends on; never call time.time() directly."""

    def now(self) -> datetime:
        """Aware UTC datetime."""
        ...

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch, the exchange's unit."""
        ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


SYSTEM_CLOCK = SystemClock()


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(microsecond=(ms % 1000) * 1000)


def datetime_to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times are aware UTC")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


class VirtualClock:
    """A clock that moves only when told: by hand, or to the time of the event being replayed.

    It never goes backwards: replayed streams interleave sources whose times may tie or
    arrive slightly out of order, and "now" must stay monotonic for throttles and TTLs.
    """

    def __init__(self, start: datetime | int = 0) -> None:
        self._ms = start if isinstance(start, int) else datetime_to_ms(start)
        self._us = 0  # sub-millisecond remainder, so small advances accumulate exactly

    def now(self) -> datetime:
        return ms_to_datetime(self._ms) + timedelta(microseconds=self._us)

    def now_ms(self) -> int:
        return self._ms

    def advance(self, seconds: float | timedelta) -> None:
        delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if delta < timedelta(0):
            raise ValueError("a clock does not go backwards")
        total_us = self._us + delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds
        self._ms += total_us // 1000
        self._us = total_us % 1000

    def advance_to(self, event_time: datetime | int) -> None:
        """Move to an event's time; an earlier time leaves the clock where it is."""
        ms = event_time if isinstance(event_time, int) else datetime_to_ms(event_time)
        if ms > self._ms:
            self._ms = ms
            self._us = 0
