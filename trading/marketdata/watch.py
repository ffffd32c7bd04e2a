"""Venue quote watches, one task per group of ≤100 symbols: reconnect with backoff, restart stale groups."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.clock import Clock
from trading.marketdata.backoff import Backoff
from trading.marketdata.cache import STALE_AFTER_MS
from trading.marketdata.grouping import MAX_SYMBOLS_PER_GROUP, assign_groups
from trading.venues.base import Mark, Quote

log = logging.getLogger(__name__)

MAX_STALE_ESCALATION = 5  # a symbol that never ticks (delisted, halted) restarts its group at most every 320 s


class QuoteSource(Protocol):
    """The part of the Venue port a quote watch needs."""

    def watch_quotes(self, symbols: Sequence[str]) -> AsyncIterator[Quote | Mark]: ...


@dataclass(eq=False, slots=True)
class _Group:
    symbols: frozenset[str]
    task: asyncio.Task[None] | None = None
    watching_since_ms: int | None = None  # None while waiting out a backoff: not a stale candidate
    stale_restarts: int = 0  # consecutive restarts that did not bring every symbol back
    attempts: int = 0


@dataclass(slots=True)
class WatchStats:
    events: int = 0
    stale_restarts: int = 0
    reconnects: int = 0
    last_tick_ms: dict[str, int] = field(default_factory=dict)


class WatchGroups:
    """Keeps one `venue.watch_quotes` task per group of symbols and hands every event to `on_event`.

    Call `set_symbols` whenever demand changes and `check_stale` now and then (`run` does both jobs'
    housekeeping every `check_interval_s`); the groups' tasks live in `run`'s TaskGroup.
    """

    def __init__(self, *, venue: QuoteSource, on_event: Callable[[Quote | Mark], None], clock: Clock,
                 name: str = "watch", max_per_group: int = MAX_SYMBOLS_PER_GROUP, stale_after_ms: int = STALE_AFTER_MS,
                 backoff: Backoff | None = None, check_interval_s: float = 1.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._venue = venue
        self._on_event = on_event
        self._clock = clock
        self._name = name
        self._max_per_group = max_per_group
        self._stale_after_ms = stale_after_ms
        self._backoff = backoff or Backoff()
        self._check_interval_s = check_interval_s
        self._sleep = sleep
        self._groups: list[_Group] = []
        self._wanted: frozenset[str] = frozenset()
        self._task_group: asyncio.TaskGroup | None = None
        self.stats = WatchStats()

    @property
    def groups(self) -> list[frozenset[str]]:
        return [group.symbols for group in self._groups]

    @property
    def symbols(self) -> frozenset[str]:
        return self._wanted

    async def run(self) -> None:
        """Host the group tasks and check for stale groups until cancelled."""
        async with asyncio.TaskGroup() as task_group:
            self._task_group = task_group
            try:
                self._apply(self._wanted)
                while True:
                    await asyncio.sleep(self._check_interval_s)
                    self.check_stale()
            finally:
                self._task_group = None
                for group in self._groups:
                    self._stop(group)
                self._groups = []

    def set_symbols(self, symbols: Iterable[str]) -> None:
        wanted = frozenset(symbols)
        if wanted != self._wanted:
            self._wanted = wanted
            if self._task_group is not None:
                self._apply(wanted)

    def check_stale(self) -> list[frozenset[str]]:
        """Restart every watching group where some symbol has had no tick for the stale time; return them."""
        now = self._clock.now_ms()
        restarted = []
        for index, group in enumerate(self._groups):
            if group.watching_since_ms is None:
                continue
            last_tick = self.stats.last_tick_ms
            if all(now - last_tick.get(s, 0) < self._stale_after_ms for s in group.symbols):
                group.stale_restarts = 0  # every symbol is back: the next silence gets the short fuse again
                continue
            allowed = self._stale_after_ms * 2 ** min(group.stale_restarts, MAX_STALE_ESCALATION)
            stale = sorted(s for s in group.symbols
                           if now - max(last_tick.get(s, 0), group.watching_since_ms) >= self._stale_after_ms)
            if stale and now - group.watching_since_ms >= allowed:
                log.warning("%s: no tick for %d ms from %s; resubscribing their group of %d",
                            self._name, self._stale_after_ms, ", ".join(stale[:5]), len(group.symbols))
                self.stats.stale_restarts += 1
                self._groups[index] = self._restart(group)
                restarted.append(group.symbols)
        return restarted

    def _apply(self, wanted: frozenset[str]) -> None:
        new_sets = assign_groups(self.groups, wanted, self._max_per_group)
        kept: list[_Group] = []
        for index, symbols in enumerate(new_sets):
            group = self._groups[index] if index < len(self._groups) else _Group(frozenset())
            if symbols == group.symbols and group.task is not None:
                kept.append(group)
                continue
            self._stop(group)
            if symbols:
                fresh = _Group(symbols)
                self._start(fresh)
                kept.append(fresh)
        self._groups = kept
        log.info("%s: %d symbols in %d groups", self._name, len(wanted), len(kept))

    def _start(self, group: _Group) -> None:
        if self._task_group is None:
            raise RuntimeError("WatchGroups.run() is not running")
        group.task = self._task_group.create_task(self._watch(group), name=f"{self._name}-watch")

    def _stop(self, group: _Group) -> None:
        if group.task is not None:
            group.task.cancel()
            group.task = None
        group.watching_since_ms = None

    def _restart(self, group: _Group) -> _Group:
        # A new record, so the cancelled task's last writes land on the old one.
        self._stop(group)
        fresh = _Group(group.symbols, stale_restarts=group.stale_restarts + 1)
        self._start(fresh)
        return fresh

    async def _watch(self, group: _Group) -> None:
        symbols = sorted(group.symbols)
        while True:
            group.watching_since_ms = self._clock.now_ms()
            iterator = self._venue.watch_quotes(symbols)
            try:
                await self._consume(group, iterator)
                reason = "the stream ended"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any venue failure: log it and reconnect; a bug shows as a repeating log
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                group.watching_since_ms = None
                await _close(iterator)
            delay = self._backoff.delay(group.attempts)
            group.attempts += 1
            self.stats.reconnects += 1
            log.warning("%s: watch of %d symbols (%s...) failed: %s; reconnecting in %.2f s",
                        self._name, len(symbols), symbols[0], reason, delay)
            await self._sleep(delay)

    async def _consume(self, group: _Group, iterator: AsyncIterator[Quote | Mark]) -> None:
        last_tick = self.stats.last_tick_ms
        async for event in iterator:
            group.attempts = 0
            self.stats.events += 1
            last_tick[event.symbol] = self._clock.now_ms()
            self._on_event(event)


async def _close(iterator: AsyncIterator[Quote | Mark]) -> None:
    """Close an async generator so its connection is released; a failure to close only gets logged."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is None:
        return
    try:
        async with asyncio.timeout(2):
            await aclose()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.debug("closing a quote watch failed", exc_info=True)
