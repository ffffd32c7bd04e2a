"""Websocket endpoints: market streams (raw and combined) with SUBSCRIBE/UNSUBSCRIBE, and user data."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import WSMsgType, web

from simexchange.server.connections import Connection
from simexchange.server.errors import error_body, unknown_listen_key
from simexchange.server.streams import MAX_STREAMS_PER_CONNECTION, is_valid_stream

if TYPE_CHECKING:
    from simexchange.server.context import ServerContext

log = logging.getLogger(__name__)

HEARTBEAT_S = 180.0  # Binance pings every 3 minutes
MAX_MESSAGE_BYTES = 64 * 1024
METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


def ws_routes(ctx: ServerContext) -> list[web.RouteDef]:
    market = _market_handler(ctx)
    private = _private_handler(ctx)
    return [
        web.get("/ws", market),
        web.get("/ws/{tail:.+}", _raw_or_private(ctx, market, private)),
        web.get("/stream", market),
        web.get("/public/ws", market),
        web.get("/public/ws/{tail:.+}", market),
        web.get("/market/ws", market),
        web.get("/market/ws/{tail:.+}", market),
        web.get("/public/stream", market),
        web.get("/market/stream", market),
        web.get("/private/ws", private),
        web.get("/private/ws/{tail:.+}", private),
        web.get("/private/stream", private),
    ]


def _json_error(exc_code: int, msg: str, status: int) -> web.Response:
    return web.Response(body=orjson.dumps(error_body(exc_code, msg)), status=status, content_type="application/json")


def _path_streams(tail: str) -> list[str]:
    """Stream names in the path (`/ws/btcusdt@trade/ethusdt@trade`); a bare number is ccxt's socket index."""
    names = [part for part in tail.split("/") if part and not part.isdigit()]
    return names


def _query_streams(request: web.Request) -> list[str]:
    raw = request.query.get("streams", "")
    return [part for part in raw.split("/") if part]


def _raw_or_private(ctx: ServerContext, market: Any, private: Any) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        tail = request.match_info.get("tail", "")
        if ctx.listen_keys.lookup(tail, ctx.now_ms()) is not None or _looks_like_listen_key(tail):
            return await private(request)
        return await market(request)

    return handler


def _looks_like_listen_key(tail: str) -> bool:
    return "@" not in tail and "/" not in tail and not tail.isdigit() and len(tail) >= 32


def _market_handler(ctx: ServerContext) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        combined = request.path.endswith("/stream")
        streams = _query_streams(request) if combined else _path_streams(request.match_info.get("tail", ""))
        bad = [s for s in streams if not is_valid_stream(s)]
        if bad or len(streams) > MAX_STREAMS_PER_CONNECTION:
            return _json_error(-1121, "Invalid symbol.", 400) if bad else _json_error(-1130, "too many streams", 400)
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        conn = Connection(ws, request.path, combined=combined, on_sent=ctx.trace.market_sent)
        conn.start()
        ctx.connections.add(conn)
        ctx.hub.subscribe(conn, streams)
        try:
            await _serve_messages(ctx, conn)
        finally:
            ctx.hub.drop(conn)
            ctx.connections.discard(conn)
            await conn.stop_sender()
        return ws

    return handler


def _private_handler(ctx: ServerContext) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        key = request.query.get("listenKey") or request.match_info.get("tail", "").strip("/")
        entry = ctx.listen_keys.lookup(key, ctx.now_ms()) if key else None
        if entry is None:
            err = unknown_listen_key()
            return _json_error(err.code, err.msg, err.http_status)
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        conn = Connection(ws, request.path, combined=request.path.endswith("/stream"), account_id=entry.account_id)
        conn.listen_key = entry.key
        conn.start()
        ctx.connections.add(conn)
        ctx.users.attach(conn)
        try:
            await _serve_messages(ctx, conn)
        finally:
            ctx.users.detach(conn)
            ctx.hub.drop(conn)
            ctx.connections.discard(conn)
            await conn.stop_sender()
        return ws

    return handler


async def _serve_messages(ctx: ServerContext, conn: Connection) -> None:
    async for msg in conn.ws:
        if msg.type == WSMsgType.TEXT:
            reply = handle_request(ctx, conn, msg.data)
            if reply is not None:
                conn.enqueue_nowait(reply)
        elif msg.type == WSMsgType.BINARY:
            conn.enqueue_nowait(_error_reply(None, 3, "Invalid JSON: binary frames are not accepted"))
        elif msg.type == WSMsgType.ERROR:
            break


def _error_reply(request_id: object, code: int, msg: str) -> str:
    return orjson.dumps({"error": {"code": code, "msg": msg}, "id": request_id}).decode()


def _result_reply(request_id: object, result: object) -> str:
    return orjson.dumps({"result": result, "id": request_id}).decode()


def handle_request(ctx: ServerContext, conn: Connection, text: str) -> str | None:
    """Answer one client message per Binance's websocket protocol (errors: 0 property, 1 type, 2 request, 3 JSON)."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return _error_reply(None, 3, f"Invalid JSON: {exc}")
    if not isinstance(message, dict):
        return _error_reply(None, 2, "Invalid request: request must be an object")
    request_id = message.get("id")
    if not _valid_id(request_id):
        return _error_reply(None, 2, "Invalid request: request ID must be an unsigned integer")
    method = message.get("method")
    if not isinstance(method, str):
        return _error_reply(request_id, 2, "Invalid request: missing field `method`")
    if method not in METHODS:
        expected = ", ".join(METHODS)
        return _error_reply(request_id, 2, f"Invalid request: unknown variant `{method}`, expected one of {expected}")
    params = message.get("params", [])
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        return _subscribe(ctx, conn, request_id, method, params)
    if method == "LIST_SUBSCRIPTIONS":
        return _result_reply(request_id, list(conn.subscriptions))
    return _property(conn, request_id, method, params)


def _valid_id(request_id: object) -> bool:
    if request_id is None or isinstance(request_id, str):
        return True
    return isinstance(request_id, int) and not isinstance(request_id, bool) and request_id >= 0


def _subscribe(ctx: ServerContext, conn: Connection, request_id: object, method: str, params: object) -> str:
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        return _error_reply(request_id, 1, "Invalid value type: expected an array of stream names")
    bad = [p for p in params if not is_valid_stream(p)]
    if bad:
        return _error_reply(request_id, 2, f"Invalid request: invalid stream {bad[0]}")
    if method == "SUBSCRIBE":
        if len(set(conn.subscriptions) | set(params)) > MAX_STREAMS_PER_CONNECTION:
            return _error_reply(request_id, 2, "Invalid request: too many streams")
        ctx.hub.subscribe(conn, params)
    else:
        ctx.hub.unsubscribe(conn, params)
    return _result_reply(request_id, None)


def _property(conn: Connection, request_id: object, method: str, params: object) -> str:
    if not isinstance(params, list) or not params or not isinstance(params[0], str):
        return _error_reply(request_id, 2, "Invalid request: property name must be a string")
    if params[0] != "combined":
        return _error_reply(request_id, 0, "Unknown property")
    if method == "GET_PROPERTY":
        return _result_reply(request_id, conn.combined)
    if len(params) != 2 or not isinstance(params[1], bool):
        return _error_reply(request_id, 1, "Invalid value type: expected Boolean")
    conn.combined = params[1]
    return _result_reply(request_id, None)
