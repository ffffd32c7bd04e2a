"""Test doubles for market data: a scriptable quote venue and a TCP proxy that can play a Redis outage."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from trading.venues.base import Mark, Quote

D = Decimal


def quote(symbol: str, bid: str, ask: str, time_ms: int, size: str = "1") -> Quote:
    return Quote(symbol, D(bid), D(size), D(ask), D(size), time_ms)


def mark(symbol: str, price: str, time_ms: int) -> Mark:
    return Mark(symbol, D(price), D("0.0001"), time_ms + 3_600_000, time_ms)


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait (bounded) for something another task does."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polling test state that has no event to wait on
            await asyncio.sleep(0.005)


async def until_async(check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 - polling state held elsewhere (Redis)
            await asyncio.sleep(0.01)


class FakeVenue:
    """`watch_quotes` hands out streams the test feeds with `push`, or breaks with `fail`."""

    def __init__(self) -> None:
        self.watch_calls: list[tuple[str, ...]] = []
        self._streams: list[tuple[frozenset[str], asyncio.Queue[Quote | Mark | Exception]]] = []

    @property
    def open_watches(self) -> list[frozenset[str]]:
        return [symbols for symbols, _ in self._streams]

    def watched_symbols(self) -> set[str]:
        return set().union(*self.open_watches)

    def watch_quotes(self, symbols: Sequence[str]) -> AsyncIterator[Quote | Mark]:
        self.watch_calls.append(tuple(symbols))
        return self._stream(frozenset(symbols))

    async def _stream(self, symbols: frozenset[str]) -> AsyncIterator[Quote | Mark]:
        entry: tuple[frozenset[str], asyncio.Queue[Quote | Mark | Exception]] = (symbols, asyncio.Queue())
        self._streams.append(entry)
        try:
            while True:
                item = await entry[1].get()
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self._streams.remove(entry)

    def push(self, event: Quote | Mark) -> int:
        """Deliver to every open watch that carries the symbol; how many got it."""
        receivers = [queue for symbols, queue in self._streams if event.symbol in symbols]
        for queue in receivers:
            queue.put_nowait(event)
        return len(receivers)

    def fail(self, error: Exception) -> None:
        for _, queue in self._streams:
            queue.put_nowait(error)


class TcpProxy:
    """Forwards a local port to Redis; `close()` is an outage (listener gone, connections cut), `open()` ends it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(OSError):
                writer.close()
            self._writers.discard(writer)


@contextlib.asynccontextmanager
async def quoting(sim: Any, symbol: str, bid: str, ask: str) -> AsyncIterator[None]:
    """Keep a simulated exchange's book ticking, so a subscription made later still sees ticks."""
    from simexchange.tests.conftest import push_mark, push_quote

    async def tick() -> None:
        while True:
            await push_quote(sim, symbol, bid, ask)
            await push_mark(sim, symbol, bid)
            await asyncio.sleep(0.05)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
