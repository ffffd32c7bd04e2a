"""The hot read, answered before Django: GET /api/v1/sub-accounts/{id}/positions/ with an API key.

Integrations poll positions hundreds of times a second. Through Django that costs a dozen thread hops
(each sync middleware), four queries (key, grant, trading state, positions) and DRF: 4-20 ms a request, and
the queue grows at 500 requests/s. Here it costs one Redis round trip: the access generation and the risk
engine's snapshot of the sub-account (positions with entry, mark, unrealized and realized PnL, fees,
notional and liquidation price, as the engine last evaluated them), read together; the key's grant comes
from access.keycache. The body is what the DRF view returns (same fields, same order, same decimal text).

Anything else goes through the full stack, which answers it the usual way: no API key, a query string, an
unknown, revoked or expired key or one without the read scope (401/403 with its message), a sub-account not
granted (404), no snapshot from the engine (it is down or has not evaluated this sub-account yet: the view
computes the figures from the database), Redis unreachable.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from decimal import Context, Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from redis import asyncio as aioredis

from access.keycache import GENERATION_KEY, KeyGrant, KeyGrants, key_grant_load
from access.models import ApiKey, Scope
from core.clock import SYSTEM_CLOCK, Clock
from risk.snapshots import snapshot_key

logger = logging.getLogger(__name__)
AsgiScope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

POSITIONS = re.compile(r"^/api/v1/sub-accounts/(\d{1,18})/positions/$")
LAST_USED_EVERY = timedelta(minutes=1)  # as access.services.apikey_authenticate: coarse, to keep reads cheap
# Headers the full stack sets on this answer (DRF, SecurityMiddleware, XFrameOptionsMiddleware).
HEADERS = [(b"content-type", b"application/json"), (b"vary", b"Accept"), (b"allow", b"GET, HEAD, OPTIONS"),
           (b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"same-origin"), (b"cross-origin-opener-policy", b"same-origin")]


STORED = Decimal(1).scaleb(-18)  # the books' 18 decimal places (trading.models.money_field)
WIDE = Context(prec=60)  # room for 38 digits before the point and 18 after: quantize never raises here


def _text(raw: Any) -> str | None:
    """DecimalString's form: normalized, never in exponent notation."""
    return None if raw is None else format(Decimal(raw).normalize(WIDE), "f")


def _stored(raw: Any) -> str:
    """An amount the full stack reads from the books, where it is kept to 18 places (the engine holds averages
    to 28 significant digits): shown as the books show it."""
    return format(Decimal(raw).quantize(STORED, context=WIDE).normalize(WIDE), "f")


def positions_body(snapshot: dict[str, Any]) -> bytes | None:
    """PositionOut rows from an engine snapshot, or None when the snapshot cannot answer (no realized PnL)."""
    if snapshot.get("booked") is not True:
        return None
    rows = []
    for p in sorted(snapshot.get("positions", []), key=lambda p: p["symbol"]):
        if Decimal(p["quantity"]) == 0:
            continue
        rows.append({"symbol": p["symbol"], "quantity": _stored(p["quantity"]),
                     "average_entry": _stored(p["entry_price"]), "mark_price": _text(p["mark_price"]),
                     "unrealized_pnl": _text(p["unrealized_pnl"]), "realized_pnl": _stored(p["realized_pnl"]),
                     "fees": _stored(p["fees"]),
                     "notional": _text(p["notional"]), "liquidation_price": _text(p.get("liquidation_price"))})
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode()


def _api_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """As access.authentication: `Authorization: Api-Key <key>`, else `X-Api-Key`."""
    authorization = x_api_key = None
    for name, value in headers:
        if name == b"authorization":
            authorization = value
        elif name == b"x-api-key":
            x_api_key = value
    if authorization is not None and authorization.startswith(b"Api-Key "):
        return authorization[8:].strip().decode("latin-1") or None
    if x_api_key is not None:
        return x_api_key.strip().decode("latin-1") or None
    return None


def _load(raw_key: str, generation: bytes | None) -> KeyGrant | None:
    close_old_connections()
    try:
        return key_grant_load(raw_key, generation)
    finally:
        close_old_connections()


def _touch(key_id: int, at: Any) -> None:
    close_old_connections()
    try:
        ApiKey.objects.filter(pk=key_id).update(last_used_at=at)
    finally:
        close_old_connections()


class FastReads:
    def __init__(self, app: ASGIApp, *, redis_url: str | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.app = app
        self.clock = clock
        self.grants = KeyGrants()
        self._redis_url = redis_url
        self._redis: tuple[asyncio.AbstractEventLoop, aioredis.Redis] | None = None
        self.served = 0  # answered here (the rest went through the full stack)
        self._bodies: dict[int, tuple[bytes, bytes | None]] = {}  # sub-account -> (snapshot, body): polls repeat

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("query_string"):
            match = POSITIONS.match(scope["path"])
            if match is not None:
                try:
                    body = await self._positions(scope, int(match[1]))
                except Exception:  # never worse than the full path: log and let it answer
                    logger.warning("fast positions read failed; the full stack answers", exc_info=True)
                    body = None
                if body is not None:
                    self.served += 1
                    await send({"type": "http.response.start", "status": 200,
                                "headers": [*HEADERS, (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    def _client(self) -> aioredis.Redis:
        """One client per event loop (a server has one; tests start several)."""
        loop = asyncio.get_running_loop()
        if self._redis is None or self._redis[0] is not loop:
            self._redis = (loop, aioredis.Redis.from_url(self._redis_url or settings.REDIS_URL, socket_timeout=0.5,
                                                         socket_connect_timeout=0.5))
        return self._redis[1]

    async def _positions(self, scope: AsgiScope, sub_account_id: int) -> bytes | None:
        raw_key = _api_key(scope.get("headers", []))
        if raw_key is None:
            return None
        hashed = hashlib.sha256(raw_key.encode()).hexdigest()
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.get(GENERATION_KEY)
            pipe.get(snapshot_key(sub_account_id))
            generation, raw_snapshot = await pipe.execute()
        grant = self.grants.get(hashed, generation)
        if grant is None:
            grant = await sync_to_async(_load, thread_sensitive=False)(raw_key, generation)
            if grant is None:
                return None  # unknown, revoked, inactive user: the full stack says 401
            self.grants.put(hashed, grant)
        now = self.clock.now()
        if Scope.READ.value not in grant.scopes or grant.expires_at <= now \
                or sub_account_id not in grant.sub_account_ids or raw_snapshot is None:
            return None
        cached = self._bodies.get(sub_account_id)
        if cached is not None and cached[0] == raw_snapshot:
            body = cached[1]
        else:
            body = positions_body(json.loads(raw_snapshot))
            self._bodies[sub_account_id] = (raw_snapshot, body)
        if body is not None and (grant.last_used_at is None or now - grant.last_used_at > LAST_USED_EVERY):
            self.grants.used(hashed, now)
            await sync_to_async(_touch, thread_sensitive=False)(grant.key_id, now)
        return body
