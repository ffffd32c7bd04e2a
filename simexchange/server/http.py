"""The REST pipeline every Binance endpoint goes through: faults, weight, auth, handler, headers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from simexchange.core.errors import ExchangeError, illegal_chars, ip_banned, too_many_requests
from simexchange.server import auth
from simexchange.server.context import ServerContext
from simexchange.server.errors import (
    backend_timeout,
    error_body,
    invalid_path,
    rejected_api_key,
    service_unavailable,
    too_many_parameters,
    unknown_error,
)
from simexchange.server.faults import Fault
from simexchange.server.params import Params

log = logging.getLogger(__name__)

NONE, USER_STREAM, SIGNED = "NONE", "USER_STREAM", "SIGNED"


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """What a handler sees: typed parameters, the caller's account (None on public endpoints)."""

    method: str
    path: str
    params: Params
    account_id: int | None
    ip: str

    @property
    def account(self) -> int:
        if self.account_id is None:  # a route-table mistake, not a client error
            raise RuntimeError(f"{self.path} needs an authenticated account")
        return self.account_id


Handler = Callable[[ServerContext, ApiRequest], Any]
Weight = int | Callable[[Params], int]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    security: str
    weight: Weight
    handler: Handler


class DroppedResponse(Exception):
    """The drop_response fault: the request ran; the client gets no answer."""


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, headers=headers, content_type="application/json")


def error_response(err: ExchangeError, headers: dict[str, str] | None = None) -> web.Response:
    merged = dict(headers or {})
    if err.retry_after_s is not None:
        merged["Retry-After"] = str(err.retry_after_s)
    return json_response(error_body(err.code, err.msg), err.http_status, merged)


def _weight_of(endpoint: Endpoint, params: Params) -> int:
    return endpoint.weight(params) if callable(endpoint.weight) else endpoint.weight


def _client_ip(request: web.Request) -> str:
    return request.remote or "127.0.0.1"


async def _read_params(request: web.Request) -> tuple[Params, str, str]:
    raw_query = request.rel_url.raw_query_string
    try:
        body_bytes = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise too_many_parameters() from exc
    try:
        raw_body = body_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise illegal_chars("body", "UTF-8 text") from exc
    return Params.from_parts(raw_query, raw_body), raw_query, raw_body


def _authenticate(
    ctx: ServerContext, endpoint: Endpoint, request: web.Request, params: Params, raw: tuple[str, str]
) -> int | None:
    if endpoint.security == NONE:
        return None
    api_key = auth.check_key_format(request.headers.get("X-MBX-APIKEY"))
    creds = ctx.engine.credentials(api_key)
    if creds is None:
        raise rejected_api_key()
    if endpoint.security == SIGNED:
        auth.check_timestamp(params.raw("timestamp"), params.raw("recvWindow"), ctx.now_ms())
        auth.verify_signature(creds.secret, raw[0], raw[1])
    return creds.account_id


def _used_headers(ctx: ServerContext, ip: str, account_id: int | None) -> dict[str, str]:
    return ctx.engine.rate_limiter.used(ip, account_id).headers()


async def _before_faults(ctx: ServerContext, request: web.Request, ip: str) -> None:
    path, method = request.path, request.method
    latency = ctx.faults.take("latency", path=path, method=method)
    if latency is not None and latency.ms > 0:
        await asyncio.sleep(latency.ms / 1000)
    _check_fault_ban(ctx, ip)
    limited = ctx.faults.take("rate_limit", path=path, method=method)
    if limited is not None:
        _start_fault_ban(ctx, ip, limited)
    before = ctx.faults.take("error_before", path=path, method=method)
    if before is not None:
        raise _fault_error(before, default=service_unavailable())


def _check_fault_ban(ctx: ServerContext, ip: str) -> None:
    """After a fault 429, a request before Retry-After is banned (418); a ban lasts ban_s."""
    state = ctx.fault_bans.get(ip)
    if state is None:
        return
    warn_until, ban_until, ban_s = state
    now = ctx.now_ms()
    if ban_until > now:
        raise ip_banned(ban_until, max(1, -(-(ban_until - now) // 1000)))
    if warn_until > now:
        ban_until = now + ban_s * 1000
        ctx.fault_bans[ip] = (0, ban_until, ban_s)
        raise ip_banned(ban_until, ban_s)
    del ctx.fault_bans[ip]


def _start_fault_ban(ctx: ServerContext, ip: str, fault: Fault) -> None:
    now = ctx.now_ms()
    ctx.fault_bans[ip] = (now + fault.retry_after_s * 1000, 0, fault.ban_s)
    raise too_many_requests(ctx.engine.config.rate_limits.request_weight_per_minute, fault.retry_after_s)


def _fault_error(fault: Fault, default: ExchangeError) -> ExchangeError:
    if fault.code == -1007 and fault.status is None:
        return backend_timeout()
    code = fault.code if fault.code is not None else default.code
    msg = fault.msg if fault.msg is not None else (backend_timeout().msg if code == -1007 else default.msg)
    return ExchangeError(code, msg, fault.status or default.http_status)


async def _after_faults(ctx: ServerContext, request: web.Request) -> None:
    path, method = request.path, request.method
    drop = ctx.faults.take("drop_response", path=path, method=method)
    if drop is not None:
        if drop.hang_ms > 0:
            await asyncio.sleep(drop.hang_ms / 1000)
        raise DroppedResponse
    after = ctx.faults.take("error_after", path=path, method=method)
    if after is not None:
        raise _fault_error(after, default=service_unavailable())


async def dispatch(ctx: ServerContext, endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
    ip = _client_ip(request)
    account_id: int | None = None
    try:
        await _before_faults(ctx, request, ip)
        params, raw_query, raw_body = await _read_params(request)
        ctx.engine.rate_limiter.charge_request(ip, _weight_of(endpoint, params))
        account_id = _authenticate(ctx, endpoint, request, params, (raw_query, raw_body))
        api_request = ApiRequest(request.method, request.path, params, account_id, ip)
        result = endpoint.handler(ctx, api_request)
        if isinstance(result, Awaitable):
            result = await result
        await _after_faults(ctx, request)
        return json_response(result, 200, _used_headers(ctx, ip, account_id))
    except ExchangeError as err:
        return error_response(err, _used_headers(ctx, ip, account_id))
    except DroppedResponse:
        return _drop_connection(request)
    except ConnectionError:  # the client went away mid-request: nobody to answer
        return web.Response(status=499)
    except Exception as exc:  # the catch-all: a genuine bug, counted so tests can assert none happened
        ctx.record_bug(exc)
        return error_response(unknown_error())


def _drop_connection(request: web.Request) -> web.StreamResponse:
    """Abort the TCP connection: the request ran, the client sees a reset instead of an answer."""
    transport = request.transport
    if transport is not None:
        with contextlib.suppress(OSError, RuntimeError):
            transport.abort()
    return web.Response(status=204)  # never reaches the client


def endpoint_view(ctx: ServerContext, endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def view(request: web.Request) -> web.StreamResponse:
        arrived_ns = time.time_ns()
        response = await dispatch(ctx, endpoint, request)
        if isinstance(response, web.Response) and (response.status >= 400 or ctx.trace.enabled
                                                   or endpoint.path == "/fapi/v1/batchOrders"):
            await _trace_answer(ctx, request, response, arrived_ns)
        return response

    return view


async def _trace_answer(ctx: ServerContext, request: web.Request, response: web.Response, arrived_ns: int) -> None:
    params: dict[str, str] = {}
    if ctx.trace.enabled:
        with contextlib.suppress(ExchangeError, UnicodeDecodeError, web.HTTPException):
            params = Params.from_parts(request.rel_url.raw_query_string, (await request.read()).decode()).as_dict()
    body = response.body if isinstance(response.body, bytes) else b""
    ctx.trace.answered(method=request.method, path=request.path, params=params, status=response.status, body=body,
                       arrived_ns=arrived_ns)


def not_found_view(ctx: ServerContext) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def view(request: web.Request) -> web.StreamResponse:
        return error_response(invalid_path(request.path, request.method))

    return view
