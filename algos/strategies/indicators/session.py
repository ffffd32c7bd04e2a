"""The trading session of a UTC time: ASIAN, LONDON, NY, or the LONDON_NY_OVERLAP.

Fixed UTC hours, no daylight-saving shift (a session edge moves by an hour twice a year in local time; the desk
prefers one rule it can read): ASIAN 22:00-08:00, LONDON 08:00-13:00, LONDON_NY_OVERLAP 13:00-17:00,
NY 17:00-22:00.
"""

from __future__ import annotations

from enum import StrEnum

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


class TradingSession(StrEnum):
    ASIAN = "ASIAN"
    LONDON = "LONDON"
    NY = "NY"
    LONDON_NY_OVERLAP = "LONDON_NY_OVERLAP"


def session_at(ts_ms: int) -> TradingSession:
    """The session at a time in milliseconds since the epoch (UTC)."""
    hour = (ts_ms % DAY_MS) // HOUR_MS
    if 8 <= hour < 13:
        return TradingSession.LONDON
    if 13 <= hour < 17:
        return TradingSession.LONDON_NY_OVERLAP
    if 17 <= hour < 22:
        return TradingSession.NY
    return TradingSession.ASIAN
