"""The risk engine inside the engine process: PostgreSQL store, Redis snapshots, loading, state reloads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, date
from decimal import Decimal
from typing import Any

import psycopg
from asgiref.sync import sync_to_async
from django.db import DatabaseError

from core.clock import SYSTEM_CLOCK, Clock
from risk import selectors, services
from risk.domain.adl import AdlStep
from risk.domain.breakers import Trip
from risk.domain.margin import Bracket
from risk.domain.states import Scope
from risk.engine import DEFAULT_CONFIG, EquityRow, RiskConfig, RiskEngine, SnapshotSink, StopAlgos
from risk.snapshots import SNAPSHOT_TTL_S, snapshot_encode, snapshot_key
from trading.domain.instruments import InstrumentRules
from trading.engine.hooks import EventSink, discard_events
from trading.engine.order_manager import OrderManager
from trading.models import SubAccount, VirtualPosition
from trading.selectors import subaccount_balance
from trading.venues.base import Venue

logger = logging.getLogger(__name__)
PERSIST_INTERVAL_S = 10.0


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
    """Write a batch of snapshots in one pipeline, each with a 30 s TTL; Redis down only loses the fast read
    (the database fallback remains)."""

    async def write(items: list[tuple[int, dict[str, Any]]]) -> None:
        if not items:
            return
        try:
            pipe = redis.pipeline(transaction=False)
            for sub_account_id, data in items:
                pipe.set(snapshot_key(sub_account_id), snapshot_encode(data), ex=SNAPSHOT_TTL_S)
            await pipe.execute()
        except Exception:  # degrade, don't crash
            logger.debug("risk snapshots not written", exc_info=True)

    return write


def _load_books(today: date) -> dict[str, Any]:
    rows = list(VirtualPosition.objects.exclude(quantity=0))
    positions = [(row.sub_account_id, row.symbol, row.quantity, row.average_entry) for row in rows]
    booked = {(row.sub_account_id, row.symbol): (row.realized_pnl, row.fees) for row in rows}
    wallets = {sub_id: subaccount_balance(sub_account_id=sub_id)
               for sub_id in SubAccount.objects.values_list("id", flat=True)}
    return {"limits": selectors.limits_by_sub_account(), "global_limits": selectors.global_limits(),
            "states": selectors.trading_states(), "wallets": wallets, "positions": positions, "booked": booked,
            "equity": selectors.equity_states(), "returns": selectors.daily_mark_returns(before=today)}


async def risk_engine_start(*, manager: OrderManager, venue: Venue, instruments: Mapping[str, InstrumentRules],
                            redis: Any | None, clock: Clock = SYSTEM_CLOCK, publish: EventSink = discard_events,
                            stop_algos: StopAlgos | None = None, config: RiskConfig = DEFAULT_CONFIG) -> RiskEngine:
    """Fetch the venue's brackets (stored for readers outside the engine), load the books, build the engine."""
    tiers = await venue.leverage_brackets()
    brackets = {symbol: tuple(Bracket(t.notional_floor, t.notional_cap, t.max_leverage, t.maint_margin_ratio, t.cum)
                              for t in rows) for symbol, rows in tiers.items() if rows}
    await sync_to_async(services.leverage_brackets_save)(tables=brackets, clock=clock)
    house = await sync_to_async(lambda: set(SubAccount.objects.filter(is_house=True).values_list("pk", flat=True)))()
    config = replace(config, adl_exempt=config.adl_exempt | frozenset(house))
    engine = RiskEngine(manager=manager, brackets=brackets, instruments=instruments,
                        store=PostgresRiskStore(clock=clock), clock=clock, publish=publish, stop_algos=stop_algos,
                        snapshots=redis_snapshots(redis) if redis is not None else None, config=config)
    engine.load(**await sync_to_async(_load_books)(clock.now().astimezone(UTC).date()))
    return engine


async def risk_reload(engine: RiskEngine) -> None:
    books = await sync_to_async(_load_books)(engine.clock.now().astimezone(UTC).date())
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


def _persist(engine_marks: dict[str, Decimal], equity: list[EquityRow], clock: Clock, today: date,
             reload_returns: bool) -> dict[str, list[Decimal]] | None:
    services.marks_record(marks=engine_marks, clock=clock)
    services.equity_states_save(rows=equity, clock=clock)
    return selectors.daily_mark_returns(before=today) if reload_returns else None


async def risk_persist_once(engine: RiskEngine, *, reload_returns: bool = False) -> int:
    """Save the marks the engine sees (their hour's mark) and the equity rows that moved; optionally reload the
    daily returns VaR reads. Returns how many equity rows were saved."""
    equity = engine.equity_unsaved()
    today = engine.clock.now().astimezone(UTC).date()
    returns = await sync_to_async(_persist)(dict(engine.world.marks), equity, engine.clock, today, reload_returns)
    engine.equity_saved(equity)
    if returns is not None:
        engine.set_returns(returns)
    return len(equity)


async def persist_risk_state(engine: RiskEngine, *, interval_s: float = PERSIST_INTERVAL_S,
                             sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Throttled writer: every `interval_s` the marks and moved equity rows; each new UTC day the VaR returns.
    A failed write is retried at the next round (the rows stay unsaved)."""
    day = engine.clock.now().astimezone(UTC).date()
    while True:
        await sleep(interval_s)
        today = engine.clock.now().astimezone(UTC).date()
        try:
            await risk_persist_once(engine, reload_returns=today != day)
            day = today
        except (DatabaseError, OSError):  # PostgreSQL restarting: degrade, try again next round
            logger.warning("risk state not persisted; retrying in %s s", interval_s, exc_info=True)


async def risk_background(engine: RiskEngine, *, database_url: str) -> None:
    """What the risk engine runs beside the engine loop: state changes by LISTEN, and the throttled writer."""
    async with asyncio.TaskGroup() as group:
        group.create_task(watch_risk_changes(engine, database_url=database_url))
        group.create_task(persist_risk_state(engine))
