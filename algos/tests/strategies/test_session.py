"""Trading sessions from the UTC hour: ASIAN 22-08, LONDON 08-13, overlap 13-17, NY 17-22."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from algos.strategies.indicators.session import TradingSession, session_at


def at(hour: int, minute: int = 0) -> int:
    return int(datetime(2025, 6, 20, hour, minute, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(("hour", "minute", "session"), [
    (0, 0, TradingSession.ASIAN), (7, 59, TradingSession.ASIAN), (8, 0, TradingSession.LONDON),
    (12, 59, TradingSession.LONDON), (13, 0, TradingSession.LONDON_NY_OVERLAP),
    (16, 59, TradingSession.LONDON_NY_OVERLAP), (17, 0, TradingSession.NY), (21, 59, TradingSession.NY),
    (22, 0, TradingSession.ASIAN), (23, 30, TradingSession.ASIAN)])
def test_session_boundaries(hour, minute, session):
    assert session_at(at(hour, minute)) is session


def test_a_time_before_the_epoch_day_edge_still_maps_by_its_utc_hour():
    assert session_at(at(13) - 1) is TradingSession.LONDON
