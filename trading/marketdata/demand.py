"""Which symbols the feed streams: open positions, live orders, running algos, and symbols asked for in Redis."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from redis import asyncio as aioredis

from trading.domain.orders import OrderStatus
from trading.marketdata.grouping import normalise_symbol
from trading.marketdata.redis_bus import Keys, demand_read

log = logging.getLogger(__name__)

LIVE_ORDER_STATUSES = [status.value for status in OrderStatus if status.is_live]
ACTIVE_ALGO_STATUSES = ["running", "paused"]
_warned: set[str] = set()  # demand is re-read every few seconds: say each bad symbol once


def _algo_symbols(parameters: object) -> list[object]:
    if not isinstance(parameters, dict):
        return []
    found: list[object] = []
    if "symbol" in parameters:
        found.append(parameters["symbol"])
    symbols = parameters.get("symbols")
    if isinstance(symbols, list | tuple):
        found.extend(symbols)
    elif symbols is not None:
        found.append(symbols)
    return found


def clean_symbols(raw: Iterable[object], *, source: str) -> set[str]:
    """Normalised symbols; anything malformed is logged and left out rather than breaking the feed."""
    symbols = set()
    for item in raw:
        symbol = normalise_symbol(item)
        if symbol is None:
            _warn_once(item, source)
        else:
            symbols.add(symbol)
    return symbols


def database_demand() -> set[str]:
    """Symbols with a non-zero virtual position, a live order, or a running or paused algo (sync: ORM)."""
    from trading.models import AlgoRun, Order, VirtualPosition

    symbols: list[object] = list(
        VirtualPosition.objects.exclude(quantity=0).values_list("symbol", flat=True).distinct())
    symbols += Order.objects.filter(status__in=LIVE_ORDER_STATUSES).values_list("symbol", flat=True).distinct()
    for parameters in AlgoRun.objects.filter(status__in=ACTIVE_ALGO_STATUSES).values_list("parameters", flat=True):
        symbols += _algo_symbols(parameters)
    return clean_symbols(symbols, source="the database")


async def database_demand_for_worker() -> set[str]:
    """`database_demand` from a long-running async worker: in Django's one sync thread, on a healthy connection."""

    def query() -> set[str]:
        close_old_connections()  # replace a connection a database restart broke (or that grew too old)
        return database_demand()

    return await sync_to_async(query, thread_sensitive=True)()


async def redis_demand(redis: aioredis.Redis, keys: Keys, *, now_ms: int) -> set[str]:
    return clean_symbols(await demand_read(redis, keys, now_ms=now_ms), source=keys.demand)


def _warn_once(item: object, source: str) -> None:
    key = f"{source}:{item!r}"[:200]
    if key not in _warned and len(_warned) < 1000:
        _warned.add(key)
        log.warning("ignoring malformed symbol %r from %s", item, source)
