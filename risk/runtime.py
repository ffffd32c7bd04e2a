"""The risk engine inside the engine process: PostgreSQL store, Redis snapshots, loading, state reloads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import psycopg
from asgiref.sync import sync_to_async

from core.clock import SYSTEM_CLOCK, Clock
from risk import selectors, services
from risk.domain.adl import AdlStep
from risk.domain.breakers import Trip
from risk.domain.margin import Bracket
from risk.domain.states import Scope
from risk.engine import DEFAULT_CONFIG, RiskConfig, RiskEngine, SnapshotSink, StopAlgos
from risk.snapshots import SNAPSHOT_TTL_S, snapshot_encode, snapshot_key
from trading.domain.instruments import InstrumentRules
from trading.engine.hooks import EventSink, discard_events
from trading.engine.order_manager import OrderManager
from trading.models import SubAccount, VirtualPosition
from trading.selectors import subaccount_balance
from trading.venues.base import Venue

logger = logging.getLogger(__name__)


class PostgresRiskStore:
    def __init__(self, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock

    async def record_trip(self, scope: Scope, trip: Trip) -> None:
        await sync_to_async(services.breach_record)(scope=scope, kind=trip.kind.value, state_after=trip.state,
                                                    detail=trip.reason, clock=self.clock)

    async def record_adl(self, *, sub_account_id: int, step: AdlStep, symbol: str, side: str, quantity: Decimal,
                         client_order_id: str, result: str) -> None:
        await sync_to_async(services.adl_action_record)(
            sub_account_id=sub_account_id, tier=step.tier.level, margin_ratio=step.margin_ratio, symbol=symbol,
            side=side, quantity=quantity, client_order_id=client_order_id, result=result, clock=self.clock)


def redis_snapshots(redis: Any) -> SnapshotSink:
    """Write each snapshot with a 30 s TTL; Redis down only loses the fast read (the DB fallback remains)."""

    async def write(sub_account_id: int, data: dict[str, Any]) -> None:
        try:
            await redis.set(snapshot_key(sub_account_id), snapshot_encode(data), ex=SNAPSHOT_TTL_S)
        except Exception:  # degrade, don't crash
            logger.debug("risk snapshot not written", exc_info=True)

    return write


def _load_books() -> dict[str, Any]:
    positions = [(row.sub_account_id, row.symbol, row.quantity, row.average_entry)
                 for row in VirtualPosition.objects.exclude(quantity=0)]
    wallets = {sub_id: subaccount_balance(sub_account_id=sub_id)
               for sub_id in SubAccount.objects.values_list("id", flat=True)}
    return {"limits": selectors.limits_by_sub_account(), "global_limits": selectors.global_limits(),
            "states": selectors.trading_states(), "wallets": wallets, "positions": positions}


async def risk_engine_start(*, manager: OrderManager, venue: Venue, instruments: Mapping[str, InstrumentRules],
                            redis: Any | None, clock: Clock = SYSTEM_CLOCK, publish: EventSink = discard_events,
                            stop_algos: StopAlgos | None = None, config: RiskConfig = DEFAULT_CONFIG) -> RiskEngine:
    """Fetch the venue's brackets (stored for readers outside the engine), load the books, build the engine."""
    tiers = await venue.leverage_brackets()
    brackets = {symbol: tuple(Bracket(t.notional_floor, t.notional_cap, t.max_leverage, t.maint_margin_ratio, t.cum)
                              for t in rows) for symbol, rows in tiers.items() if rows}
    await sync_to_async(services.leverage_brackets_save)(tables=brackets, clock=clock)
    engine = RiskEngine(manager=manager, brackets=brackets, instruments=instruments,
                        store=PostgresRiskStore(clock=clock), clock=clock, publish=publish, stop_algos=stop_algos,
                        snapshots=redis_snapshots(redis) if redis is not None else None, config=config)
    engine.load(**await sync_to_async(_load_books)())
    return engine


async def risk_reload(engine: RiskEngine) -> None:
    books = await sync_to_async(_load_books)()
    engine.set_limits(books["limits"], books["global_limits"])
    await engine.apply_states(books["states"])


async def watch_risk_changes(engine: RiskEngine, *, database_url: str, poll_interval_s: float = 5.0) -> None:
    """LISTEN for limit and state changes (manual trips, resets, admin edits), polling as a fallback."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {services.STATES_CHANNEL}")
        while True:
            await risk_reload(engine)
            async for _ in listener.notifies(timeout=poll_interval_s, stop_after=1):
                break
            await asyncio.sleep(0)
