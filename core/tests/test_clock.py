"""The clocks: a virtual clock that only moves forward, and exact ms <-> datetime conversions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.clock import SYSTEM_CLOCK, VirtualClock, datetime_to_ms, ms_to_datetime

START = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
START_MS = 1_767_323_045_678

# Milliseconds from 1900 to 2200: covers pre-epoch values, where floor division matters.
ms_values = st.integers(min_value=-2_208_988_800_000, max_value=7_258_118_400_000)


def test_the_epoch_is_zero_milliseconds() -> None:
    assert datetime_to_ms(datetime(1970, 1, 1, tzinfo=UTC)) == 0


def test_ms_to_datetime_gives_an_aware_utc_datetime() -> None:
    moment = ms_to_datetime(START_MS)

    assert moment == START
    assert moment.utcoffset() == timedelta(0)


def test_datetime_to_ms_converts_other_time_zones_to_the_same_instant() -> None:
    in_paris = START.astimezone(timezone(timedelta(hours=1)))

    assert datetime_to_ms(in_paris) == START_MS


def test_datetime_to_ms_truncates_microseconds_below_a_millisecond() -> None:
    assert datetime_to_ms(START + timedelta(microseconds=999)) == START_MS


def test_datetime_to_ms_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        datetime_to_ms(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive input is the point


def test_a_millisecond_before_the_epoch_is_the_last_millisecond_of_1969() -> None:
    assert ms_to_datetime(-1) == datetime(1969, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(ms=ms_values)
def test_ms_round_trips_through_a_datetime(ms: int) -> None:
    assert datetime_to_ms(ms_to_datetime(ms)) == ms


@settings(max_examples=300, deadline=None)
@given(ms=ms_values)
def test_a_millisecond_datetime_round_trips_through_ms(ms: int) -> None:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)

    assert ms_to_datetime(datetime_to_ms(moment)) == moment


def test_the_system_clock_gives_aware_utc_time_consistent_with_its_milliseconds() -> None:
    before_ms = SYSTEM_CLOCK.now_ms()
    moment = SYSTEM_CLOCK.now()
    after_ms = SYSTEM_CLOCK.now_ms()

    assert moment.utcoffset() == timedelta(0)
    assert before_ms <= datetime_to_ms(moment) <= after_ms


def test_a_virtual_clock_starts_at_the_given_milliseconds() -> None:
    clock = VirtualClock(START_MS)

    assert clock.now_ms() == START_MS
    assert clock.now() == START


def test_a_virtual_clock_starts_at_the_given_datetime() -> None:
    clock = VirtualClock(START)

    assert clock.now_ms() == START_MS
    assert clock.now() == START


def test_a_virtual_clock_stands_still_until_told() -> None:
    clock = VirtualClock(START_MS)

    assert clock.now_ms() == START_MS
    assert clock.now_ms() == START_MS


def test_advance_moves_the_clock_by_seconds() -> None:
    clock = VirtualClock(START_MS)

    clock.advance(1.5)

    assert clock.now_ms() == START_MS + 1500


def test_advance_accepts_a_timedelta() -> None:
    clock = VirtualClock(START_MS)

    clock.advance(timedelta(days=1, milliseconds=3))

    assert clock.now_ms() == START_MS + 86_400_003


def test_sub_millisecond_advances_accumulate_exactly() -> None:
    clock = VirtualClock(0)

    for _ in range(10):
        clock.advance(timedelta(microseconds=300))

    assert clock.now_ms() == 3
    assert clock.now() == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=3000)


def test_advance_refuses_to_go_backwards() -> None:
    clock = VirtualClock(START_MS)

    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-0.001)
    assert clock.now_ms() == START_MS


def test_advance_to_moves_the_clock_to_a_later_event_time() -> None:
    clock = VirtualClock(START_MS)

    clock.advance_to(START_MS + 250)

    assert clock.now_ms() == START_MS + 250


def test_advance_to_accepts_a_datetime() -> None:
    clock = VirtualClock(0)

    clock.advance_to(START)

    assert clock.now() == START


def test_advance_to_ignores_an_earlier_time() -> None:
    clock = VirtualClock(START_MS)

    clock.advance_to(START_MS - 1)

    assert clock.now_ms() == START_MS


def test_advance_to_the_current_millisecond_keeps_the_sub_millisecond_part() -> None:
    clock = VirtualClock(START_MS)
    clock.advance(timedelta(microseconds=400))

    clock.advance_to(START_MS)

    assert clock.now() == START + timedelta(microseconds=400)


_steps = st.one_of(
    st.tuples(st.just("advance"), st.integers(min_value=0, max_value=5_000_000)),  # microseconds
    st.tuples(st.just("advance_to"), st.integers(min_value=-1_000, max_value=10_000)),  # ms offset from start
)


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(_steps, max_size=40))
def test_a_virtual_clock_never_goes_backwards(steps: list[tuple[str, int]]) -> None:
    clock = VirtualClock(START_MS)
    previous_now, previous_ms = clock.now(), clock.now_ms()

    for action, amount in steps:
        if action == "advance":
            clock.advance(timedelta(microseconds=amount))
        else:
            clock.advance_to(START_MS + amount)
        assert clock.now() >= previous_now
        assert clock.now_ms() >= previous_ms
        assert clock.now_ms() == datetime_to_ms(clock.now())
        previous_now, previous_ms = clock.now(), clock.now_ms()
