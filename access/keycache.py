"""What an API key may reach, cached in the process and dropped the moment access changes anywhere.

The hot reads (pms_site.fastpath) must not spend a database round trip per request on the key and the
grants. A key's grant (its user's sub-accounts, scopes, expiry) is loaded once and kept with the access
generation it was loaded at; every change to keys, grants, users or sub-accounts increments that generation
in Redis after its commit (access.signals), and a reader that sees another generation loads again. A
revoked key or a withdrawn grant therefore stops working on the next request, in every process.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.db import transaction

from access.services import apikey_find
from trading.redis_clients import redis_client
from trading.selectors import subaccount_list_visible

logger = logging.getLogger(__name__)
GENERATION_KEY = "pms:access:generation"
KEYS_KEPT = 10_000
MAX_AGE_S = 30.0  # a backstop should an increment ever be lost (Redis failing at that moment)


@dataclass(frozen=True, slots=True)
class KeyGrant:
    key_id: int
    scopes: frozenset[str]
    expires_at: datetime
    last_used_at: datetime | None
    sub_account_ids: frozenset[int]  # the sub-accounts granted to the key's user
    generation: bytes | None  # the access generation this was loaded at
    loaded_at: float  # time.monotonic()


def key_grant_load(raw_key: str, generation: bytes | None) -> KeyGrant | None:
    """From the database: None for an unknown key, a wrong secret, a revoked key or an inactive user (expiry is
    checked by the reader, on its own clock)."""
    api_key = apikey_find(raw_key=raw_key)
    if api_key is None:
        return None
    ids = frozenset(subaccount_list_visible(user=api_key.user).values_list("pk", flat=True))
    return KeyGrant(api_key.pk, frozenset(api_key.scopes), api_key.expires_at, api_key.last_used_at, ids, generation,
                    time.monotonic())


class KeyGrants:
    """key hash -> KeyGrant, valid while the access generation is the one it was loaded at."""

    def __init__(self) -> None:
        self._grants: dict[str, KeyGrant] = {}
        self._lock = threading.Lock()

    def get(self, hashed: str, generation: bytes | None) -> KeyGrant | None:
        grant = self._grants.get(hashed)
        if grant is None or grant.generation != generation or time.monotonic() - grant.loaded_at > MAX_AGE_S:
            return None
        return grant

    def put(self, hashed: str, grant: KeyGrant) -> None:
        with self._lock:
            if len(self._grants) >= KEYS_KEPT:
                self._grants.clear()  # rare: as many live keys as this; reloading is cheap
            self._grants[hashed] = grant

    def used(self, hashed: str, at: datetime) -> None:
        with self._lock:
            grant = self._grants.get(hashed)
            if grant is not None:
                self._grants[hashed] = replace(grant, last_used_at=at)


def access_generation_bump() -> None:
    """After the current transaction commits (a reader must never load the old state under the new number)."""
    transaction.on_commit(_bump)


def _bump() -> None:
    try:
        redis_client(settings.REDIS_URL).incr(GENERATION_KEY)
    except Exception:  # Redis down: the hot reads cannot read snapshots either and fall back to the full path
        logger.warning("access generation not incremented: Redis unavailable", exc_info=True)
