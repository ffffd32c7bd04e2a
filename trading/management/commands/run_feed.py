"""`manage.py run_feed`: the feed worker process — demanded symbols from the venue to Redis pub/sub and price cache."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from core.clock import SYSTEM_CLOCK, Clock
from trading.marketdata.demand import database_demand_for_worker
from trading.marketdata.feed import FeedConfig, FeedWorker
from trading.marketdata.redis_bus import Keys, make_redis

logger = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 5.0


async def run_feed(*, keys: Keys, clock: Clock = SYSTEM_CLOCK, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop`), then flush the last prices and close the venue and Redis."""
    from trading.venues.factory import venue_from_settings  # the ccxt stack loads only in this process

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    venue = venue_from_settings(clock=clock)
    redis = make_redis(settings.REDIS_URL)
    try:
        worker = FeedWorker(venue=venue, redis=redis, clock=clock, database_demand=database_demand_for_worker,
                            config=FeedConfig(keys=keys))
        logger.info("feed worker started (quotes on %s)", keys.quotes_channel)
        await worker.run(stop)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await venue.close()
                await redis.aclose()
        except TimeoutError:
            logger.warning("closing the venue and Redis took over %.0f s; exiting anyway", CLOSE_TIMEOUT_S)
        logger.info("feed worker stopped")


class Command(BaseCommand):
    help = "Stream quotes and mark prices for the symbols in demand to Redis (pub/sub and the price cache)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--prefix", default=settings.PMS_REDIS_PREFIX,
                            help="Redis key prefix (default: PMS_REDIS_PREFIX, pms)")

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(run_feed(keys=Keys(prefix=options["prefix"])))
