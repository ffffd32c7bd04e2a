"""A semaphore that hands free slots to the most urgent waiter first (cancels before new orders)."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class PrioritySlots:
    """At most `size` holders; waiters are served by (priority, arrival), lower priority value first."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("at least one slot")
        self._free = size
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    async def acquire(self, priority: int) -> None:
        if self._free > 0 and not any(not fut.done() for _, _, fut in self._waiters):
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._arrivals), future))
        try:
            await future
        except asyncio.CancelledError:
            # Handed a slot in the same instant we were cancelled: pass it on rather than leak it.
            if future.done() and not future.cancelled():
                self.release()
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1
