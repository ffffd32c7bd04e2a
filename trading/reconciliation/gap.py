"""After a user-stream gap: the engine's own recovery has booked the trades since the gap and re-read its live
orders and the positions (in-process, so its books and the database move together); then the same position and
order syncs the beat runs go at once, by the same services, and mark their debounce so the beat does not repeat
them. Started in the background: the stream consumer does not wait for REST sweeps."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async

from trading.reconciliation.guard import RECOVERY_COVERS, recovery_debounce_mark
from trading.reconciliation.runs import sweep_run

logger = logging.getLogger(__name__)
_running: set[asyncio.Task[None]] = set()


async def gap_sweeps(*, account: str | None = None) -> None:
    for kind in RECOVERY_COVERS:
        try:
            row = await sync_to_async(sweep_run, thread_sensitive=False)(kind=kind, account=account, debounce=False)
            logger.info("%s after the stream gap: %s", kind, row.outcome)
        except Exception:  # the beat's sweep covers it; the stream consumer must not fail for a sweep
            logger.exception("%s after the stream gap failed; the beat's sweep will run it", kind)
    await recovery_debounce_mark(account=account)


async def gap_recovered() -> None:
    """The FillRouter's `on_recovered` hook after a stream gap."""
    task = asyncio.get_running_loop().create_task(gap_sweeps())
    _running.add(task)
    task.add_done_callback(_running.discard)
