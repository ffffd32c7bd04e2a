"""The risk engine inside the engine process: the pre-trade hook, fills, rejections, ticks and HALTED's algo stops."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from algos.engine import AlgoEngine
from core.clock import Clock
from risk.domain.states import Scope, ScopeKind
from risk.engine import RiskEngine
from risk.runtime import risk_background, risk_engine_start
from trading.domain.instruments import InstrumentRules
from trading.engine.hooks import EventSink
from trading.engine.runner import Engine
from trading.marketdata.service import MarketDataService
from trading.venues.base import Venue


@dataclass
class RiskWiring:
    engine: Engine
    algo_engine: AlgoEngine
    market_data: MarketDataService
    venue: Venue
    instruments: Mapping[str, InstrumentRules]
    redis: Any
    clock: Clock
    publish: EventSink
    risk: RiskEngine | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        """An on_ready hook: after recovery (its fills are in the books it loads), before algos resume or a
        command is read, so no order passes unchecked."""
        risk = await risk_engine_start(manager=self.engine.manager, venue=self.venue, instruments=self.instruments,
                                       redis=self.redis, clock=self.clock, publish=self.publish,
                                       stop_algos=self.stop_algos)
        self.engine.manager.pre_trade = risk
        self.engine.fill_listeners.append(risk.on_fill)
        self.engine.reconciled_listeners.append(risk.on_fill)  # fills a sweep booked behind the engine, reloaded
        self.engine.manager.rejection_listeners.append(
            lambda order: risk.note_rejection(order.sub_account_id, order.algo_run_id))
        for symbol in self.instruments:
            self.market_data.subscribe(symbol, risk.on_tick)
        self.risk = risk
        self.started.set()

    async def stop_algos(self, scope: Scope) -> None:
        """HALTED stops the algos in its scope (the risk engine has cancelled their orders)."""
        if scope.kind is ScopeKind.ALGO:
            if scope.key in self.algo_engine.runners:
                await self.algo_engine.stop({"algo_run_id": scope.key})
            return
        sub_account_id = scope.key if scope.kind is ScopeKind.SUB_ACCOUNT else None
        await self.algo_engine.stop_all(sub_account_id=sub_account_id, reason=f"circuit breaker: {scope} halted")

    async def watch_changes(self) -> None:
        """Limits edited in the admin, manual trips and resets reach the running engine."""
        await self.started.wait()
        assert self.risk is not None  # noqa: S101 - set before `started`
        await risk_background(self.risk, database_url=settings.DATABASE_URL)  # LISTEN + equity/mark writer

    async def close(self) -> None:
        if self.risk is not None:
            await self.risk.close()
