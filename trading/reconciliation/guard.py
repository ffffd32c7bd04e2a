"""One sweep at a time per exchange account (PostgreSQL advisory lock) and a shared debounce (Redis)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.db import connection

from trading.reconciliation.config import recon_config

logger = logging.getLogger(__name__)
LOCK_NAMESPACE = "pms.reconciliation"


class GuardResult(StrEnum):
    RUN = "run"
    LOCKED = "locked"  # another sweep on this account holds the lock
    DEBOUNCED = "debounced"  # the same sweep ran within the debounce window


def debounce_key(account: str, kind: str) -> str:
    return f"pms:recon:{account}:{kind}:debounce"


def redis_client(url: str | None = None) -> redis.Redis:
    return redis.Redis.from_url(url or settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)


def debounce_take(client: Any, *, account: str, kind: str, window_ms: int) -> bool:
    """True when this caller may run now (and starts the window); True as well when Redis cannot say."""
    if window_ms <= 0:
        return True
    try:
        return bool(client.set(debounce_key(account, kind), "1", nx=True, px=window_ms))
    except (redis.RedisError, OSError):
        logger.warning("reconciliation debounce unavailable (Redis down): the database lock alone guards")
        return True


RECOVERY_COVERS = ("position_sync", "order_sync")  # a gap recovery read trades, live orders and positions


async def recovery_debounce_mark(*, account: str | None = None, window_ms: int | None = None, client: Any = None,
                                 kinds: tuple[str, ...] = RECOVERY_COVERS) -> bool:
    """After the engine's gap recovery: start the debounce window of the sweeps it just did the work of, so a beat
    right after it is skipped. False when Redis cannot be written (the sweeps then simply run: no harm)."""
    account = account or settings.PMS_EXCHANGE_ACCOUNT
    window_ms = recon_config().debounce_ms if window_ms is None else window_ms
    if window_ms <= 0:
        return True
    own = client is None
    client = client or aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        pipe = client.pipeline(transaction=False)
        for kind in kinds:
            pipe.set(debounce_key(account, kind), "gap_recovery", px=window_ms)
        await pipe.execute()
        return True
    except (redis.RedisError, OSError):
        logger.warning("sweep debounce not marked after the gap recovery (Redis down): the next sweeps run")
        return False
    finally:
        if own:
            await client.aclose()


@contextmanager
def sweep_guard(*, account: str, kind: str, window_ms: int, client: Any = None,
                debounce: bool = True) -> Iterator[GuardResult]:
    """Hold the account's advisory lock for the sweep; yields RUN, or why the sweep must not run.

    The lock is session-level on Django's connection: if the process dies, PostgreSQL drops it. The lock is
    taken before the debounce, so a sweep that could not run never spends the window.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s))", [LOCK_NAMESPACE, account])
        locked = bool(cursor.fetchone()[0])
    if not locked:
        yield GuardResult.LOCKED
        return
    try:
        if debounce and not debounce_take(client or redis_client(), account=account, kind=kind,
                                          window_ms=window_ms):
            yield GuardResult.DEBOUNCED
        else:
            yield GuardResult.RUN
    finally:
        _unlock(account)


def _unlock(account: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s), hashtext(%s))", [LOCK_NAMESPACE, account])
    except Exception:  # the connection died with the lock on it: PostgreSQL released it already
        logger.warning("advisory unlock failed; the lock went with the connection", exc_info=True)
        connection.close()
