"""`manage.py run_engine`: the engine process (orders, fills, commands, algos) on uvloop.

It lives in the algos app because it composes everything below it: trading's engine and the algo runners.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import uvloop
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from prometheus_client import start_http_server

from algos.engine import AlgoEngine
from algos.governor import RepriceGovernor
from algos.lease import AlgoLease
from algos.risk_wiring import RiskWiring
from algos.services import algo_filled_by_symbol, algo_run_record, algo_run_update, algo_runs_to_resume
from algos.state_store import AlgoStateStore
from algos.strategies.runtime.registry import StrategyRegistry
from algos.strategies.runtime.wiring import breaker_tap
from core.clock import SYSTEM_CLOCK
from core.supervisor import Supervisor
from trading.engine.commands import EngineControl
from trading.engine.journal_pg import PostgresJournal
from trading.engine.runner import Engine
from trading.events import EventOutbox
from trading.marketdata.redis_bus import Keys, make_redis
from trading.marketdata.service import MarketDataService
from trading.services.health import HEARTBEAT_KEY

logger = logging.getLogger(__name__)

HEARTBEAT_TTL_S = 10


async def run_engine(*, metrics_port: int | None) -> None:
    from trading.venues.factory import venue_from_settings  # ccxt loads only in the processes that trade

    clock = SYSTEM_CLOCK
    outbox = EventOutbox(asyncio.get_running_loop(), clock=clock)
    venue = venue_from_settings(clock=clock)
    redis = make_redis(settings.REDIS_URL)
    market_data = MarketDataService(redis=redis, venue=venue, clock=clock, fetch_quote=venue.fetch_quote,
                                    keys=Keys(prefix=settings.PMS_REDIS_PREFIX))
    journal = PostgresJournal(clock=clock, publish=outbox.publish)

    async def heartbeat(state: dict[str, Any]) -> None:
        try:
            await redis.set(HEARTBEAT_KEY, json.dumps(state), ex=HEARTBEAT_TTL_S)
        except Exception:  # Redis down: the dashboard shows the engine as stale, trading goes on
            logger.debug("heartbeat not written", exc_info=True)

    instruments = {rules.symbol: rules for rules in await journal.instruments()}
    engine = Engine(venue=venue, journal=journal, database_url=settings.DATABASE_URL, publish=outbox.publish,
                    clock=clock, prices=market_data, heartbeat=heartbeat)
    algo_engine = AlgoEngine(manager=engine.manager, ticks=market_data, instruments=instruments, clock=clock,
                             publish=outbox.publish, load_run=sync_to_async(algo_run_record),
                             save_run=sync_to_async(algo_run_update),
                             state_store=AlgoStateStore(redis=redis, clock=clock),
                             lease=AlgoLease(redis=redis, owner=settings.PMS_ENGINE_ID),
                             strategies=StrategyRegistry(dirs=settings.PMS_STRATEGY_DIRS),
                             reprice_governor=RepriceGovernor(rate_per_s=settings.PMS_REPRICE_RATE_PER_S,
                                                              burst=settings.PMS_REPRICE_BURST))
    engine.command_handlers.update({"start_algo": algo_engine.start, "stop_algo": algo_engine.stop,
                                    "pause_algo": algo_engine.pause, "resume_algo": algo_engine.resume})
    control = EngineControl(manager=engine.manager, stop_algos=algo_engine.stop_all)  # operator start/stop/pause
    engine.command_handlers.update(control.handlers())

    async def resume_algos() -> None:
        resumed = await algo_engine.resume_all(await sync_to_async(algo_runs_to_resume)(),
                                               sync_to_async(algo_filled_by_symbol))
        if resumed:
            logger.info("algos resumed after restart: %s", resumed)

    risk = RiskWiring(engine=engine, algo_engine=algo_engine, market_data=market_data, venue=venue,
                      instruments=instruments, redis=redis, clock=clock,
                      publish=breaker_tap(outbox.publish, algo_engine))  # strategies hear of breaker trips
    engine.on_ready.append(risk.start)
    engine.on_ready.append(control.restore)  # an operator's pause survives a restart, before algos resume
    engine.on_ready.append(resume_algos)
    market_data.ensure(*instruments)
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1")
    supervisor = Supervisor()
    supervisor.install_signal_handlers()
    supervisor.add("events", outbox.run)
    supervisor.add("market-data", market_data.run)
    supervisor.add("algos", algo_engine.run)
    supervisor.add("risk-changes", risk.watch_changes)
    try:
        await engine.run(supervisor)
    finally:
        await risk.close()
        await redis.aclose()
        logger.info("engine stopped")


class Command(BaseCommand):
    help = "Run the trading engine: recovery, user-data stream, commands, heartbeat."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--metrics-port", type=int, default=settings.PMS_ENGINE_METRICS_PORT,
                            help="Prometheus /metrics on 127.0.0.1 (0 to disable)")

    def handle(self, *args: Any, **options: Any) -> None:
        uvloop.run(run_engine(metrics_port=options["metrics_port"]))
