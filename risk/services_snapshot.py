"""Risk snapshot refresh: the snapshots the engine has not written lately, computed from the database into Redis."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

from core.clock import SYSTEM_CLOCK, Clock
from risk.selectors import risk_snapshot
from risk.snapshots import SNAPSHOT_TTL_S, snapshot_encode, snapshot_key
from trading.models import SubAccount

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RefreshResult:
    written: int  # snapshots computed from the database and stored
    kept: int  # the engine's own (fresher) snapshot was there
    failed: int  # could not be computed (e.g. no leverage brackets stored yet for a symbol held)


def risk_snapshots_refresh(*, client: Any = None, clock: Clock = SYSTEM_CLOCK) -> RefreshResult:
    """For every open sub-account without a snapshot in Redis, compute it from the database (ledger, positions,
    cached marks, stored brackets) and store it with the snapshot TTL. Never overwrites: the engine's snapshot,
    written from live marks, wins (SET NX). Redis down → nothing to refresh into; the readers compute from the
    database themselves."""
    client = client or redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    ids = list(SubAccount.objects.exclude(status=SubAccount.Status.CLOSED).order_by("id").values_list("id", flat=True))
    try:
        present = client.mget([snapshot_key(i) for i in ids]) if ids else []
    except (redis.RedisError, OSError):
        logger.warning("risk snapshots not refreshed: Redis unavailable")
        return RefreshResult(0, 0, 0)
    written = kept = failed = 0
    for sub_account_id, raw in zip(ids, present, strict=True):
        if raw:
            kept += 1
            continue
        try:
            data = risk_snapshot(sub_account_id=sub_account_id, clock=clock)
        except LookupError as exc:
            failed += 1
            logger.warning("risk snapshot of sub-account %s not computed: %s", sub_account_id, exc)
            continue
        data["refreshed_by"] = "beat"
        try:
            stored = client.set(snapshot_key(sub_account_id), snapshot_encode(data), ex=SNAPSHOT_TTL_S, nx=True)
        except (redis.RedisError, OSError):
            logger.warning("risk snapshots refresh stopped: Redis went away")
            break
        written, kept = (written + 1, kept) if stored else (written, kept + 1)
    return RefreshResult(written, kept, failed)
