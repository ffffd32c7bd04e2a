"""The sweeps as the Celery tasks and the engine call them: guarded, logged, one service each."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from django.conf import settings
from django.db import DatabaseError

from core.clock import SYSTEM_CLOCK, Clock
from core.errors import VenueError
from trading.events import Publisher, event_publish
from trading.models import ReconciliationLog
from trading.reconciliation.config import ReconConfig, recon_config
from trading.reconciliation.guard import GuardResult, redis_client, sweep_guard
from trading.reconciliation.misses import MissCounter
from trading.reconciliation.orders import orders_sync
from trading.reconciliation.orphans import orphans_sweep
from trading.reconciliation.positions import positions_sync
from trading.reconciliation.record import RunRecord, run_save, run_start
from trading.reconciliation.session import VenueSession, venue_session
from trading.venues.base import Venue

logger = logging.getLogger(__name__)
Kind = ReconciliationLog.Kind


class Sweep(Protocol):
    def __call__(self, *, session: VenueSession, account: str, run: RunRecord, config: ReconConfig,
                 clock: Clock, publish: Publisher) -> None: ...


def _order_sync(*, session: VenueSession, account: str, run: RunRecord, config: ReconConfig, clock: Clock,
                publish: Publisher) -> None:
    orders_sync(session=session, account=account, run=run, config=config, clock=clock, publish=publish,
                misses=MissCounter(redis_client(), account))


SWEEPS: dict[str, Sweep] = {Kind.POSITION_SYNC: positions_sync, Kind.ORDER_SYNC: _order_sync,
                            Kind.ORPHAN_SWEEP: orphans_sweep}


def sweep_run(
    *, kind: str, account: str | None = None, venue_factory: Callable[[], Venue] | None = None,
    clock: Clock = SYSTEM_CLOCK, publish: Publisher = event_publish, config: ReconConfig | None = None,
    debounce: bool = True, redis: Any = None,
) -> ReconciliationLog:
    """Run one sweep for the account under its lock and debounce; every run leaves a log row."""
    if kind not in SWEEPS:
        raise ValueError(f"unknown sweep {kind!r}: one of {sorted(SWEEPS)}")
    account = account or settings.PMS_EXCHANGE_ACCOUNT
    config = config or recon_config()
    run = run_start(account=account, kind=kind, clock=clock)
    with sweep_guard(account=account, kind=kind, window_ms=config.debounce_ms, client=redis,
                     debounce=debounce) as guard:
        if guard is not GuardResult.RUN:
            run.compared = {"skipped": guard.value}
            logger.info("%s for %s skipped: %s", kind, account, guard.value)
            return run_save(run, outcome=ReconciliationLog.Outcome.SKIPPED, clock=clock, publish=publish)
        try:
            with venue_session(venue_factory) as session:
                SWEEPS[kind](session=session, account=account, run=run, config=config, clock=clock, publish=publish)
        except (VenueError, DatabaseError, OSError) as exc:
            # Not swallowed: the run is logged as failed and the next beat retries; a bug still raises.
            logger.warning("%s for %s failed: %s", kind, account, exc)
            return run_save(run, outcome=ReconciliationLog.Outcome.FAILED, error=f"{type(exc).__name__}: {exc}",
                            clock=clock, publish=publish)
        row = run_save(run, clock=clock, publish=publish)
    if row.outcome != ReconciliationLog.Outcome.MATCHED:
        logger.warning("%s for %s: %s (%d found, %d done)", kind, account, row.outcome, len(row.found),
                       len(row.actions))
    return row
