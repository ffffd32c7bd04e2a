"""Asyncio supervision: named long-running tasks restarted with backoff, stopped in stages."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class Supervised:
    name: str
    factory: Callable[[], Awaitable[None]]
    restarts: int = 0


@dataclass
class Supervisor:
    """Runs every task in one TaskGroup; a task that fails is restarted after an exponential backoff.

    A task that returns normally is done. CancelledError always propagates; the supervisor itself
    is stopped by `stop()` (wired to SIGTERM/SIGINT by `install_signal_handlers`).
    """

    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    tasks: list[Supervised] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        self.tasks.append(Supervised(name, factory))

    def stop(self) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            runners = [group.create_task(self._keep_running(task), name=task.name) for task in self.tasks]
            await self.stopping.wait()
            for runner in runners:
                runner.cancel()

    async def _keep_running(self, task: Supervised) -> None:
        backoff = self.initial_backoff_s
        while True:
            try:
                await task.factory()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # logged with its traceback, then restarted: a crash loop shows in the log
                task.restarts += 1
                logger.exception("task %s failed (restart %d in %.1fs)", task.name, task.restarts, backoff)
            await asyncio.sleep(backoff * (0.5 + random.random()))  # noqa: S311 - jitter, not security
            backoff = min(backoff * 2, self.max_backoff_s)
