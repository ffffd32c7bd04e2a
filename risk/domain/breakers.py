"""Circuit-breaker triggers: daily loss, drawdown, rapid drawdown, order-rate breach, rejection storms."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .limits import SubAccountLimits, money
from .states import TradingState

ZERO = Decimal(0)
HUNDRED = Decimal(100)
RAPID_WINDOW_MS = 10 * 60_000
MINUTE_MS = 60_000
DAY_MS = 86_400_000


class TripKind(StrEnum):
    DAILY_LOSS = "daily_loss"
    DRAWDOWN = "drawdown"
    RAPID_DRAWDOWN = "rapid_drawdown"
    ORDER_RATE = "order_rate"
    REJECTION_STORM = "rejection_storm"
    MANUAL = "manual"


# What each trigger does to the scope: losses leave room to close, runaway behaviour stops everything.
TRIP_STATE = {
    TripKind.DAILY_LOSS: TradingState.REDUCING,
    TripKind.DRAWDOWN: TradingState.REDUCING,
    TripKind.RAPID_DRAWDOWN: TradingState.HALTED,
    TripKind.ORDER_RATE: TradingState.HALTED,
    TripKind.REJECTION_STORM: TradingState.HALTED,
}


@dataclass(frozen=True, slots=True)
class Trip:
    kind: TripKind
    state: TradingState
    reason: str


class EventWindow:
    """Timestamps of recent events (orders, rejections) within a sliding window; pure, fed the time."""

    __slots__ = ("_times", "window_ms")

    def __init__(self, window_ms: int = MINUTE_MS) -> None:
        self.window_ms = window_ms
        self._times: deque[int] = deque()

    def add(self, now_ms: int) -> int:
        self._times.append(now_ms)
        return self.count(now_ms)

    def count(self, now_ms: int) -> int:
        times, edge = self._times, now_ms - self.window_ms
        while times and times[0] <= edge:
            times.popleft()
        return len(times)


class EquityHistory:
    """Equity samples of one sub-account: the day's opening, the peak, and the last 10 minutes' high.

    The window keeps only the samples that can still be its high (a falling sequence), so the high is
    read in O(1) however often equity is sampled.
    """

    __slots__ = ("_recent", "day", "day_open", "peak", "window_ms")

    def __init__(self, window_ms: int = RAPID_WINDOW_MS) -> None:
        self.window_ms = window_ms
        self._recent: deque[tuple[int, Decimal]] = deque()
        self.day: int | None = None
        self.day_open = ZERO
        self.peak = ZERO

    def restore(self, *, day: int, day_open: Decimal, peak: Decimal) -> None:
        """What was saved before a restart: the day's opening equity (kept if still that day) and the peak."""
        self.day, self.day_open, self.peak = day, day_open, max(self.peak, peak)

    def record(self, now_ms: int, equity: Decimal) -> None:
        day = now_ms // DAY_MS
        if day != self.day:
            self.day, self.day_open = day, equity
        if equity > self.peak:
            self.peak = equity
        recent = self._recent
        while recent and recent[-1][1] <= equity:
            recent.pop()
        recent.append((now_ms, equity))
        edge = now_ms - self.window_ms
        while recent[0][0] < edge:
            recent.popleft()

    def window_high(self) -> Decimal:
        return self._recent[0][1] if self._recent else ZERO

    def saved_form(self) -> tuple[int, Decimal, Decimal] | None:
        """(day, day_open, peak) to persist; None before the first sample."""
        return None if self.day is None else (self.day, self.day_open, self.peak)


def drawdown_pct(peak: Decimal, equity: Decimal) -> Decimal:
    if peak <= 0:
        return ZERO
    return max(ZERO, (peak - equity) / peak * HUNDRED)


def equity_trips(limits: SubAccountLimits, history: EquityHistory, equity: Decimal) -> list[Trip]:
    """Loss triggers after the latest equity sample (record it first); only the limits that are set cost."""
    trips = []
    if limits.max_daily_loss is not None:
        loss = history.day_open - equity
        if loss >= limits.max_daily_loss:
            trips.append(Trip(TripKind.DAILY_LOSS, TRIP_STATE[TripKind.DAILY_LOSS],
                              f"daily loss {money(loss)} USDT reached the limit {money(limits.max_daily_loss)} USDT"))
    if limits.max_drawdown_pct is not None:
        drawdown = drawdown_pct(history.peak, equity)
        if drawdown >= limits.max_drawdown_pct:
            trips.append(Trip(TripKind.DRAWDOWN, TRIP_STATE[TripKind.DRAWDOWN],
                              f"drawdown {drawdown:.2f} % from the peak {money(history.peak)} USDT reached the "
                              f"limit {limits.max_drawdown_pct} %"))
    if limits.rapid_drawdown_pct is not None:
        rapid = drawdown_pct(history.window_high(), equity)
        if rapid >= limits.rapid_drawdown_pct:
            trips.append(Trip(TripKind.RAPID_DRAWDOWN, TRIP_STATE[TripKind.RAPID_DRAWDOWN],
                              f"equity fell {rapid:.2f} % within {history.window_ms // 60_000} minutes "
                              f"(limit {limits.rapid_drawdown_pct} %)"))
    return trips


def order_rate_trip(attempts_in_minute: int, max_per_minute: int | None) -> Trip | None:
    """A strategy that keeps asking beyond its order rate is runaway: halt it rather than deny forever."""
    if max_per_minute is None or attempts_in_minute <= max_per_minute:
        return None
    return Trip(TripKind.ORDER_RATE, TRIP_STATE[TripKind.ORDER_RATE],
                f"{attempts_in_minute} orders in a minute breach the limit of {max_per_minute}")


def rejection_storm_trip(rejections_in_window: int, threshold: int, window_ms: int) -> Trip | None:
    if rejections_in_window < threshold:
        return None
    return Trip(TripKind.REJECTION_STORM, TRIP_STATE[TripKind.REJECTION_STORM],
                f"{rejections_in_window} rejected orders within {window_ms // 1000} s (storm threshold {threshold})")
