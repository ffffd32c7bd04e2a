"""The pacer: real time, N times faster or unpaced, on an injected clock so nothing really sleeps."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from simexchange.marketdata import MarketEvent, Trade
from simexchange.sources import MAX_SPEED, paced, parse_speed


class FakeTime:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def trades_at(*times_ms: int) -> list[MarketEvent]:
    return [Trade("BTCUSDT", n, Decimal("1.0"), Decimal("1"), False, at, at) for n, at in enumerate(times_ms)]


def emit(events: list[MarketEvent], clock: FakeTime, **options: object) -> list[tuple[float, int]]:
    """(clock time when yielded, event time) for each event."""

    async def collect() -> list[tuple[float, int]]:
        stream = paced(events, sleep=clock.sleep, monotonic=clock.monotonic, **options)  # type: ignore[arg-type]
        return [(clock.now, event.event_time_ms) async for event in stream]

    return asyncio.run(collect())


def test_at_speed_one_events_leave_as_far_apart_as_their_event_times() -> None:
    clock = FakeTime()
    emitted = emit(trades_at(5_000, 5_000, 5_250, 7_000), clock, speed=1)
    assert [when - 1000.0 for when, _ in emitted] == pytest.approx([0.0, 0.0, 0.25, 2.0])


def test_at_speed_ten_the_same_stream_takes_a_tenth_of_the_time() -> None:
    clock = FakeTime()
    emitted = emit(trades_at(0, 1_000, 3_000), clock, speed=10)
    assert [when - 1000.0 for when, _ in emitted] == pytest.approx([0.0, 0.1, 0.3])


def test_the_schedule_does_not_drift_when_the_consumer_is_slow() -> None:
    clock = FakeTime()

    async def slow_consumer() -> list[float]:
        seen = []
        async for _ in paced(trades_at(0, 1_000, 2_000), speed=1, sleep=clock.sleep, monotonic=clock.monotonic):
            seen.append(clock.now)
            clock.now += 0.4  # the consumer's own work
        return seen

    assert [when - 1000.0 for when in asyncio.run(slow_consumer())] == pytest.approx([0.0, 1.0, 2.0])


def test_at_max_speed_nothing_waits_but_the_loop_gets_a_turn() -> None:
    clock = FakeTime()
    emitted = emit(trades_at(*range(0, 10_000_000, 1_000)), clock, speed=MAX_SPEED, yield_every=1000)
    assert len(emitted) == 10_000
    assert clock.sleeps == [0] * 10


def test_a_long_gap_between_recordings_is_shortened_to_max_gap() -> None:
    clock = FakeTime()
    year_ms = 365 * 86_400_000
    emitted = emit(trades_at(0, 1_000, year_ms, year_ms + 500), clock, speed=1, max_gap_ms=2_000)
    assert [when - 1000.0 for when, _ in emitted] == pytest.approx([0.0, 1.0, 3.0, 3.5])


async def test_pacing_runs_in_a_real_event_loop_with_the_default_sleep() -> None:
    events = [event async for event in paced(trades_at(0, 5, 10), speed=100)]
    assert [event.event_time_ms for event in events] == [0, 5, 10]


@pytest.mark.parametrize(("text", "speed"), [("1", 1.0), ("10x", 10.0), ("0.5", 0.5), ("max", MAX_SPEED), ("0", 0.0)])
def test_speed_is_parsed_from_the_command_line(text: str, speed: float) -> None:
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["-1", "fast", "nan"])
def test_a_nonsense_speed_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"speed|could not convert"):
        parse_speed(text)
