"""The engine process: recovery first, then the user stream, commands and a heartbeat in one loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import Max

from core.clock import SYSTEM_CLOCK, Clock, datetime_to_ms
from core.supervisor import Supervisor
from trading.domain.records import FillBooked
from trading.engine.commands import CommandProcessor, Handler
from trading.engine.hooks import EventSink, PreTradeCheck, PriceSource
from trading.engine.journal import Journal
from trading.engine.order_manager import OrderManager
from trading.engine.routing import FillRouter
from trading.models import Fill
from trading.reconciliation.gap import gap_recovered
from trading.reconciliation.refresh import ReconciledRefresh
from trading.venues.base import UserEvent, Venue

logger = logging.getLogger(__name__)
HEARTBEAT_S = 2.0
MAX_BATCH = 500


async def last_fill_ms() -> int:
    latest = await sync_to_async(lambda: Fill.objects.exclude(is_synthetic=True).aggregate(
        latest=Max("executed_at"))["latest"])()
    return datetime_to_ms(latest) if latest is not None else 0


class Engine:
    """Start-up is recovery: load state, reconcile with the exchange, then accept commands."""

    def __init__(self, *, venue: Venue, journal: Journal, database_url: str, publish: EventSink,
                 clock: Clock = SYSTEM_CLOCK, prices: PriceSource | None = None,
                 pre_trade: PreTradeCheck | None = None, heartbeat: Any = None,
                 command_handlers: dict[str, Handler] | None = None) -> None:
        self.venue, self.journal, self.clock, self.publish = venue, journal, clock, publish
        self.database_url = database_url
        self.manager = OrderManager(venue=venue, journal=journal, clock=clock, prices=prices,
                                    pre_trade=pre_trade, publish=publish)
        self.router: FillRouter | None = None
        self.ready = asyncio.Event()
        self.heartbeat = heartbeat  # an optional callable(dict) that records liveness (Redis key)
        self._stream_runs = 0
        self.command_handlers = command_handlers or {}
        self.on_ready: list[Callable[[], Awaitable[None]]] = []
        self.fill_listeners: list[Callable[[FillBooked], None]] = []  # told of every fill once booked
        # told of every fill a reconciliation booked behind the engine, once its positions are reloaded
        self.reconciled_listeners: list[Callable[[FillBooked], None]] = []
        self.reconciled: ReconciledRefresh | None = None

    async def recover(self) -> None:
        subs = await self.journal.sub_accounts()
        house = next(sub for sub in subs if sub.is_house)
        await self.manager.load()
        self.router = FillRouter(journal=self.journal, manager=self.manager, venue=self.venue,
                                 sub_account_codes={sub.code: sub.sub_account_id for sub in subs},
                                 house_sub_account_id=house.sub_account_id, clock=self.clock, publish=self.publish,
                                 fill_listeners=self.fill_listeners)
        self.router.last_event_ms = await last_fill_ms()
        self.reconciled = ReconciledRefresh(manager=self.manager, seen=self.router.recent,
                                            listeners=self.reconciled_listeners, database_url=self.database_url)
        await self.reconciled.start()
        self.router.traded_symbols = {rules.symbol for rules in await self.journal.instruments()}

    async def run(self, supervisor: Supervisor) -> None:
        await self.recover()
        supervisor.add("user-stream", self._consume_user_stream)
        supervisor.add("startup", self._reconcile_then_open)
        supervisor.add("heartbeat", self._heartbeat)
        supervisor.add("reconciled", self._watch_reconciliations)
        try:
            await supervisor.run()
        finally:
            await self._shutdown()

    async def _reconcile_then_open(self) -> None:
        """Catch up on everything since the last booked fill before a single new order is allowed."""
        assert self.router is not None  # noqa: S101 - recover() ran
        if not self.ready.is_set():  # a restart after the command listener failed (database restart) runs only it
            await self.router.recover(since_ms=self.router.last_event_ms)
            self.router.on_recovered = gap_recovered  # from now on a recovery closes a stream gap: sweeps follow
            self.manager.resume()
            for on_ready in self.on_ready:  # e.g. resuming algos: after recovery, before new commands
                await on_ready()
            self.ready.set()
            logger.info("engine ready: recovery done, accepting commands")
        processor = CommandProcessor(manager=self.manager, database_url=self.database_url, clock=self.clock,
                                     extra_handlers=self.command_handlers)
        await processor.run()

    async def _watch_reconciliations(self) -> None:
        """Positions a sweep changed in PostgreSQL reach the in-memory books (LISTEN, polling as a fallback)."""
        await self.ready.wait()
        assert self.reconciled is not None  # noqa: S101 - recover() ran
        await self.reconciled.run()

    async def _consume_user_stream(self) -> None:
        """Read the stream into a queue; book whatever has piled up as one batch (one commit per burst)."""
        assert self.router is not None  # noqa: S101 - recover() ran
        if self._stream_runs:  # a restart after a failure (database down, bug): events may be lost
            self.manager.pause("user-data stream restarting; reconciling")
            await self.router.recover(since_ms=self.router.last_event_ms)
            self.manager.resume()
        self._stream_runs += 1
        queue: asyncio.Queue[UserEvent] = asyncio.Queue()

        async def read() -> None:
            async for event in self.venue.watch_user_events():
                queue.put_nowait(event)

        async with asyncio.TaskGroup() as group:
            group.create_task(read())
            while True:
                batch = [await queue.get()]
                while not queue.empty() and len(batch) < MAX_BATCH:
                    batch.append(queue.get_nowait())
                try:
                    await self.router.handle_batch(batch)
                except Exception:
                    # Fail closed: no new orders until the restarted consumer has reconciled the gap.
                    self.manager.pause("fill booking failed; the stream consumer restarts and reconciles")
                    raise

    async def _heartbeat(self) -> None:
        while True:
            state = {"status": "running" if self.manager.paused_reason is None else "paused",
                     "paused_reason": self.manager.paused_reason, "live_orders": len(self.manager.live),
                     "ts": self.clock.now_ms()}
            self.publish("engine", "engine_state", state)
            if self.heartbeat is not None:
                await self.heartbeat(state)
            await asyncio.sleep(HEARTBEAT_S)

    async def _shutdown(self) -> None:
        """Staged: no new orders, let in-flight resolutions finish briefly, close the venue."""
        self.manager.pause("engine stopping")
        try:
            await asyncio.wait_for(self.manager.close(), timeout=5)
        except TimeoutError:
            logger.warning("in-flight order resolutions cut short by shutdown")
        await self.venue.close()
