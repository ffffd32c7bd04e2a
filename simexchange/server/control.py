"""The `/_sim/*` control API: accounts, deposits, manual trades, market events, faults, feed and state.

    GET    /_sim/state                          accounts, faults, feed, connections, user-event counters, bugs
    POST   /_sim/accounts                       {"api_key"?, "secret"?, "balance"?: "100000", "alias"?}
    POST   /_sim/accounts/{id}/deposit          {"amount": "250.5"}  (negative: withdraw)
    POST   /_sim/trade                          {"account_id", "symbol", "side", "quantity", "type"?, "price"?,
                                                 "client_order_id"?}  a "manual" order, client id web_simN
    POST   /_sim/market                         {"type": "bookTicker"|"trade"|"markPrice", "symbol", ...}
    GET    /_sim/faults                         active faults and how often each kind fired
    POST   /_sim/faults                         a fault (see faults.py); one-shot kinds act at once
    DELETE /_sim/faults  /  /_sim/faults/{id}   clear all / remove one
    POST   /_sim/feed                           {"paused": true|false}
    GET    /_sim/trace                          the latency trace (trace.py) and the error-answer counters
    POST   /_sim/trace                          {"enabled"?: true|false, "clear"?: true}

Plain JSON in and out (`{"error": "..."}` with HTTP 400 on bad input); not part of Binance's API and
unauthenticated, so the server only ever listens on loopback. Amounts are decimal strings, never floats.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from aiohttp import web

from simexchange import wire
from simexchange.core import ExchangeError
from simexchange.marketdata import BookTicker, MarketEvent, MarkPrice, Trade
from simexchange.server.context import ServerContext
from simexchange.server.faults import Fault, fault_from_dict
from simexchange.server.feed import MarketFeed

View = Callable[[web.Request], Awaitable[web.StreamResponse]]
_manual_ids = itertools.count(1)


class ControlError(ValueError):
    """Bad control input: answered 400 with the message."""


def _reply(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ControlError(f"malformed JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _decimal(data: dict[str, Any], name: str, default: str | None = None) -> Decimal:
    raw = data.get(name, default)
    if raw is None:
        raise ControlError(f"{name} is required")
    if isinstance(raw, float | bool):
        raise ControlError(f"{name} must be a decimal string (not a float)")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise ControlError(f"{name} must be a decimal string") from exc
    if not value.is_finite():
        raise ControlError(f"{name} must be finite")
    return value


def _int(data: dict[str, Any], name: str, default: int | None = None) -> int:
    value = data.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ControlError(f"{name} must be an integer")
    return value


def _str(data: dict[str, Any], name: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str) or not value:
        raise ControlError(f"{name} must be a non-empty string")
    return value


# the Python API the endpoints call (tests use these directly through SimExchange) ---------------------
def account_create(ctx: ServerContext, data: dict[str, Any]) -> dict[str, Any]:
    api_key = _str(data, "api_key", secrets.token_hex(32))
    secret = _str(data, "secret", secrets.token_hex(32))
    balance = _decimal(data, "balance", "0")
    alias = data.get("alias")
    if alias is not None and not isinstance(alias, str):
        raise ControlError("alias must be a string")
    if ctx.engine.credentials(api_key) is not None:
        raise ControlError("api_key already in use")
    account_id = ctx.engine.create_account(api_key=api_key, secret=secret, deposit=balance, alias=alias)
    ctx.known_api_keys[account_id] = api_key
    return {"account_id": account_id, "api_key": api_key, "secret": secret}


def account_deposit(ctx: ServerContext, account_id: int, data: dict[str, Any]) -> dict[str, Any]:
    amount = _decimal(data, "amount")
    try:
        ctx.engine.deposit(account_id, amount)
    except ExchangeError as exc:
        raise ControlError(f"unknown account {account_id}") from exc
    return {"account_id": account_id, "wallet": wire.plain(ctx.engine.ledger_totals(account_id)["wallet"])}


def manual_trade(ctx: ServerContext, data: dict[str, Any]) -> dict[str, Any]:
    """An order placed "by hand" (Binance's web UI): a foreign client id unless one is given."""
    account_id = _int(data, "account_id")
    params = {
        "symbol": _str(data, "symbol"),
        "side": _str(data, "side"),
        "type": _str(data, "type", "MARKET"),
        "quantity": str(_decimal(data, "quantity")),
        "newClientOrderId": _str(data, "client_order_id", f"web_sim{next(_manual_ids)}"),
    }
    if "price" in data:
        params["price"] = str(_decimal(data, "price"))
        params["timeInForce"] = _str(data, "time_in_force", "GTC")
    try:
        view = ctx.engine.new_order(account_id, params)
    except ExchangeError as exc:
        return {"code": exc.code, "msg": exc.msg}
    return wire.order(view, ctx.specs[view.symbol])


def market_event_from_dict(ctx: ServerContext, data: dict[str, Any]) -> MarketEvent:
    """{"type": "bookTicker"|"trade"|"markPrice", "symbol": ..., prices as strings} -> a market event."""
    kind = _str(data, "type")
    symbol = _str(data, "symbol")
    now = ctx.now_ms()
    if kind == "bookTicker":
        bid, ask = _decimal(data, "bid"), _decimal(data, "ask")
        bid_qty, ask_qty = _decimal(data, "bid_qty", "1"), _decimal(data, "ask_qty", "1")
        return BookTicker(symbol, _int(data, "update_id", now), bid, bid_qty, ask, ask_qty, now, now)
    if kind == "trade":
        price, quantity = _decimal(data, "price"), _decimal(data, "quantity", "1")
        return Trade(symbol, _int(data, "trade_id", now), price, quantity, bool(data.get("buyer_is_maker")), now, now)
    if kind == "markPrice":
        mark = _decimal(data, "mark")
        index, rate = _decimal(data, "index", str(mark)), _decimal(data, "funding_rate", "0.0001")
        return MarkPrice(symbol, mark, index, mark, rate, _int(data, "next_funding_ms", now + 3_600_000), now)
    raise ControlError("type must be bookTicker, trade or markPrice")


async def market_event_push(ctx: ServerContext, event: MarketEvent) -> None:
    """Drive the engine and the streams with one event, exactly as the feed would."""
    ctx.on_market_event(event)
    await ctx.publish_market_event(event)


async def fault_add(ctx: ServerContext, fault: Fault) -> dict[str, Any]:
    """Store a fault; the one-shot kinds (ws_disconnect, listen_key_expired) act at once instead."""
    if fault.kind == "ws_disconnect":
        return {"executed": True, "closed": await disconnect(ctx, fault.path, fault.account)}
    if fault.kind == "listen_key_expired":
        return {"executed": True, "expired": expire_listen_keys(ctx, fault.account)}
    stored = ctx.faults.add(fault)
    return stored.to_dict()


async def disconnect(ctx: ServerContext, path: str | None = None, account: int | None = None) -> int:
    targets = [
        c
        for c in list(ctx.connections)
        if (path is None or c.path.startswith(path)) and (account is None or c.account_id == account)
    ]
    for conn in targets:
        await conn.close(code=1001, message=b"simexchange fault: disconnect")
    return len(targets)


def expire_listen_keys(ctx: ServerContext, account: int | None = None) -> int:
    expired = ctx.listen_keys.expire(account)
    for entry in expired:
        ctx.users.listen_key_expired(entry)
    return len(expired)


def state(ctx: ServerContext, feed: MarketFeed | None) -> dict[str, Any]:
    accounts = [
        {
            "account_id": account_id,
            "api_key": api_key,
            "wallet": wire.plain(ctx.engine.ledger_totals(account_id)["wallet"]),
        }
        for account_id, api_key in sorted(ctx.known_api_keys.items())
    ]
    return {
        "serverTime": ctx.now_ms(),
        "accounts": accounts,
        "faults": [f.to_dict() for f in ctx.faults.active()],
        "faults_fired": dict(ctx.faults.fired),
        "feed": None
        if feed is None
        else {"paused": feed.paused, "processed": feed.processed, "finished": feed.finished.is_set()},
        "connections": {"market": len(ctx.hub.connections()), "private": len(ctx.users.connections())},
        "user_events": {"delivered": ctx.users.delivered, "dropped": ctx.users.dropped},
        "bugs": len(ctx.bugs),
        "error_answers": dict(ctx.trace.error_answers),
    }


def clear_faults(ctx: ServerContext) -> None:
    """Remove every fault, end fault bans and release held-back user events."""
    ctx.faults.clear()
    ctx.fault_bans.clear()
    ctx.users.release_held(force=True)


# routes -------------------------------------------------------------------------------------------------
class ControlViews:
    """The /_sim/* handlers; `feed` is read at call time (it exists only while a source runs)."""

    def __init__(self, ctx: ServerContext, feed: Callable[[], MarketFeed | None]) -> None:
        self.ctx = ctx
        self.feed = feed

    async def create(self, request: web.Request) -> Any:
        return account_create(self.ctx, await _body(request))

    async def deposit(self, request: web.Request) -> Any:
        account_id = request.match_info["account_id"]
        if not account_id.isdigit():
            raise ControlError("account id must be an integer")
        return account_deposit(self.ctx, int(account_id), await _body(request))

    async def trade(self, request: web.Request) -> Any:
        return manual_trade(self.ctx, await _body(request))

    async def market(self, request: web.Request) -> Any:
        await market_event_push(self.ctx, market_event_from_dict(self.ctx, await _body(request)))
        return {"ok": True}

    async def faults_add(self, request: web.Request) -> Any:
        return await fault_add(self.ctx, fault_from_dict(await _body(request)))

    async def faults_list(self, request: web.Request) -> Any:
        return {"faults": [f.to_dict() for f in self.ctx.faults.active()], "fired": dict(self.ctx.faults.fired)}

    async def faults_clear(self, request: web.Request) -> Any:
        clear_faults(self.ctx)
        return {"cleared": True}

    async def faults_remove(self, request: web.Request) -> Any:
        fault_id = request.match_info["fault_id"]
        if not fault_id.isdigit():
            raise ControlError("fault id must be an integer")
        return {"removed": self.ctx.faults.remove(int(fault_id))}

    async def feed_control(self, request: web.Request) -> Any:
        data = await _body(request)
        current = self.feed()
        if current is None:
            raise ControlError("this server runs without a price source")
        paused = data.get("paused")
        if not isinstance(paused, bool):
            raise ControlError("paused must be true or false")
        if paused:
            current.pause()
        else:
            current.resume()
        return {"paused": current.paused}

    async def trace_get(self, request: web.Request) -> Any:
        return self.ctx.trace.to_dict()

    async def trace_control(self, request: web.Request) -> Any:
        data = await _body(request)
        enabled, clear = data.get("enabled", self.ctx.trace.enabled), data.get("clear", False)
        if not isinstance(enabled, bool) or not isinstance(clear, bool):
            raise ControlError("enabled and clear must be true or false")
        if clear:
            self.ctx.trace.clear()
        self.ctx.trace.enabled = enabled
        return {"enabled": enabled}

    async def get_state(self, request: web.Request) -> Any:
        return state(self.ctx, self.feed())

    def routes(self) -> list[web.RouteDef]:
        g = self._guarded
        return [
            web.get("/_sim/state", g(self.get_state)),
            web.post("/_sim/accounts", g(self.create)),
            web.post("/_sim/accounts/{account_id}/deposit", g(self.deposit)),
            web.post("/_sim/trade", g(self.trade)),
            web.post("/_sim/market", g(self.market)),
            web.get("/_sim/faults", g(self.faults_list)),
            web.post("/_sim/faults", g(self.faults_add)),
            web.delete("/_sim/faults", g(self.faults_clear)),
            web.delete("/_sim/faults/{fault_id}", g(self.faults_remove)),
            web.post("/_sim/feed", g(self.feed_control)),
            web.get("/_sim/trace", g(self.trace_get)),
            web.post("/_sim/trace", g(self.trace_control)),
        ]

    def _guarded(self, handler: Callable[[web.Request], Awaitable[Any]]) -> View:
        async def view(request: web.Request) -> web.StreamResponse:
            try:
                return _reply(await handler(request))
            except (ControlError, ValueError) as exc:
                return _reply({"error": str(exc)}, 400)
            except Exception as exc:  # a bug: recorded for the tests, answered 500
                self.ctx.record_bug(exc)
                return _reply({"error": "internal error"}, 500)

        return view
