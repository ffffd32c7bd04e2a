"""Putting recorded events into event-time order: a bounded reorder buffer and a stable k-way merge."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from simexchange.marketdata import MarketEvent, event_time_ms

DEFAULT_REORDER_WINDOW_MS = 10_000


class OutOfOrderError(ValueError):
    """A recorded event arrived later than the reorder window allows; its order cannot be restored."""


def reorder_by_event_time(
    events: Iterable[MarketEvent], *, window_ms: int = DEFAULT_REORDER_WINDOW_MS, source: str = "events"
) -> Iterator[MarketEvent]:
    """Yield events sorted by event time, ties in arrival order, holding at most window_ms of them.

    A capture interleaves streams whose exchange times disagree by up to a few hundred ms; sorting
    with a sliding window keeps memory bounded. An event later than the window fails loudly rather
    than being emitted out of order.
    """
    heap: list[tuple[int, int, MarketEvent]] = []
    newest_ms: int | None = None
    emitted_ms: int | None = None
    for seq, event in enumerate(events):
        at_ms = event.event_time_ms
        if emitted_ms is not None and at_ms < emitted_ms:
            raise OutOfOrderError(
                f"{source}: event #{seq} at {at_ms} ms came after one at {emitted_ms} ms was emitted "
                f"(more than {window_ms} ms late)"
            )
        heapq.heappush(heap, (at_ms, seq, event))
        newest_ms = at_ms if newest_ms is None else max(newest_ms, at_ms)
        while heap[0][0] <= newest_ms - window_ms:
            emitted_ms, _, ready = heapq.heappop(heap)
            yield ready
    while heap:
        yield heapq.heappop(heap)[2]


def merge_by_event_time(streams: Iterable[Iterable[MarketEvent]]) -> Iterator[MarketEvent]:
    """Merge time-ordered streams; equal times keep the order the streams were given in."""
    return heapq.merge(*streams, key=event_time_ms)
