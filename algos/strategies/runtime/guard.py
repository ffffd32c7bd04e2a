"""Isolation: a strategy callback that raises, overruns its time budget or floods signals is a fault.

The guard measures each callback with a monotonic timer (time.perf_counter by default, injectable) and
counts signals per callback and over a sliding minute of the injected clock. A fault carries the reason
the run is marked failed with. A callback cannot be pre-empted in-process: an overrun is detected when the
callback returns, and its signals are then discarded.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from algos.strategies.base import Signal

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class RuntimeLimits:
    budget_ms: float = 50.0  # per callback
    max_signals_per_callback: int = 20
    max_signals_per_minute: int = 600


class StrategyFault(Exception):
    """The strategy misbehaved; `reason` says how, for the run's record and the dashboard."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CallbackGuard:
    def __init__(self, limits: RuntimeLimits, *, timer: Callable[[], float] = time.perf_counter) -> None:
        self.limits, self.timer = limits, timer
        self._recent: deque[int] = deque()  # one timestamp per signal within the last minute

    def call(self, name: str, callback: Callable[..., Any], *args: Any, now_ms: int) -> list[Signal]:
        timer = self.timer
        started = timer()
        try:
            produced = callback(*args)
            signals = list(produced) if produced else []
        except Exception as exc:
            raise StrategyFault(f"{name} raised {type(exc).__name__}: {exc}") from exc
        elapsed_ms = (timer() - started) * 1000
        if elapsed_ms > self.limits.budget_ms:
            raise StrategyFault(f"{name} took {elapsed_ms:.0f} ms, over its budget of {self.limits.budget_ms:g} ms")
        if signals:  # no signal cannot break a limit (the minute's window only shrinks)
            self._check(name, signals, now_ms)
        return signals

    def _check(self, name: str, signals: Sequence[object], now_ms: int) -> None:
        for signal in signals:
            if not isinstance(signal, Signal):
                raise StrategyFault(f"{name} returned {type(signal).__name__}, not a Signal")
        if len(signals) > self.limits.max_signals_per_callback:
            raise StrategyFault(f"{name} emitted {len(signals)} signals at once; the limit is "
                                f"{self.limits.max_signals_per_callback} per callback")
        recent, edge = self._recent, now_ms - MINUTE_MS
        while recent and recent[0] <= edge:
            recent.popleft()
        recent.extend([now_ms] * len(signals))
        if len(recent) > self.limits.max_signals_per_minute:
            raise StrategyFault(f"{len(recent)} signals within a minute; the limit is "
                                f"{self.limits.max_signals_per_minute} per minute")
