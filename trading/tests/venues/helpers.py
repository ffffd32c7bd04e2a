"""Helpers for the venue tests: order requests, and an async iterator drained into a queue with timeouts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from trading.domain.types import OrderType, Side, TimeInForce
from trading.venues.base import OrderRequest

E = TypeVar("E")
D = Decimal


def limit(client_id: str, quantity: str = "0.010", price: str = "63000.0", *, side: Side = Side.BUY,
          tif: TimeInForce = TimeInForce.GTC, reduce_only: bool = False, symbol: str = "BTCUSDT") -> OrderRequest:
    return OrderRequest(client_order_id=client_id, symbol=symbol, side=side, order_type=OrderType.LIMIT,
                        quantity=D(quantity), price=D(price), time_in_force=tif, reduce_only=reduce_only)


def market(client_id: str, quantity: str = "0.010", *, side: Side = Side.BUY,
           reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(client_order_id=client_id, symbol="BTCUSDT", side=side, order_type=OrderType.MARKET,
                        quantity=D(quantity), reduce_only=reduce_only)


class Drained:
    """Consume an async iterator in the background; tests take items with a timeout."""

    def __init__(self, iterator: AsyncIterator[Any]) -> None:
        self._iterator = iterator
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.pending: list[Any] = []
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for item in self._iterator:
            await self.queue.put(item)

    async def next(self, kind: type[E], *, within_s: float = 5.0,
                   where: Callable[[Any], bool] = lambda _: True) -> E:
        """The first not yet taken item of `kind` that satisfies `where` (others stay for later calls)."""
        def match(item: Any) -> bool:
            return isinstance(item, kind) and where(item)

        async def find() -> Any:
            for index, item in enumerate(self.pending):
                if match(item):
                    return self.pending.pop(index)
            while True:
                item = await self.queue.get()
                if match(item):
                    return item
                self.pending.append(item)

        return await asyncio.wait_for(find(), within_s)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        aclose = getattr(self._iterator, "aclose", None)
        if aclose is not None:
            await asyncio.wait_for(aclose(), 5)


async def eventually(check: Callable[[], bool | Awaitable[bool]], *, within_s: float = 5.0) -> None:
    """Wait until `check()` is true (polling every 20 ms), or fail after `within_s` seconds."""
    async def poll() -> None:
        while True:
            result = check()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), within_s)
