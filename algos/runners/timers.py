"""What a runner needs to be woken at a time of the injected clock (the AlgoEngine provides it, live or backtest)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol


class Timers(Protocol):
    def call_at(self, at_ms: int, callback: Callable[[], Awaitable[None]]) -> None: ...
