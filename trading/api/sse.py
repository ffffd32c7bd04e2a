"""Server-Sent Events of the engine's live events at /api/v1/events/stream, next to the pages' websocket.

The same events the pages get (channel-layer groups, DESIGN §6), scoped to the caller's sub-accounts: it joins
only the granted `account.<id>` groups plus `engine` and `risk`, and passes a `risk` event on only when it is
about a granted sub-account (or, with no sub-account, to staff). Authenticated like the API (session or API key
with the `read` scope). A comment line keeps idle proxies from closing the stream; the stream ends after
`max_s` seconds (EventSource reconnects by itself), so no connection lives forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.clock import SYSTEM_CLOCK
from trading.api.errors import _first_message, error_body
from trading.events import account_group
from trading.models import AlgoRun
from trading.selectors import engine_status_read, subaccount_list_visible

KEEPALIVE_S = (1.0, 15.0, 60.0)  # low, default, high
MAX_S = (1.0, 3600.0, 3600.0)
RISK_EVENTS = frozenset({"risk_alert", "adl_triggered", "circuit_breaker"})  # what the `risk` group carries


class _StreamView(APIView):
    """Only to run the API's authenticators and permissions (a GET: the `read` scope)."""


def _authenticate(request: HttpRequest) -> tuple[Any, Any]:
    drf_request = Request(request, authenticators=[auth() for auth in api_settings.DEFAULT_AUTHENTICATION_CLASSES])
    user, auth = drf_request.user, drf_request.auth  # raises AuthenticationFailed for a bad key
    if not (user and user.is_authenticated):
        raise exceptions.NotAuthenticated("log in or send an API key")
    view = _StreamView()
    for permission in api_settings.DEFAULT_PERMISSION_CLASSES:
        checker = permission()
        if not checker.has_permission(drf_request, view):
            raise exceptions.PermissionDenied(getattr(checker, "message", "not allowed"))
    return user, auth


def _bounded(raw: str | None, name: str, limits: tuple[float, float, float]) -> float:
    low, default, high = limits
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise exceptions.ValidationError({name: f"must be a number of seconds, got {raw!r}"}) from None
    if not low <= value <= high:
        raise exceptions.ValidationError({name: f"must be between {low:g} and {high:g} seconds, got {raw}"})
    return value


class Scope:
    """Which events of the shared groups this caller may see."""

    def __init__(self, user: Any) -> None:
        self.staff = bool(user.is_staff)
        self.sub_account_ids = set(subaccount_list_visible(user=user).values_list("pk", flat=True))
        self.algo_run_ids = set(AlgoRun.objects.filter(sub_account_id__in=self.sub_account_ids)
                                .values_list("pk", flat=True))

    def allows(self, group: str, event: str, data: dict[str, Any]) -> bool:
        if group != "risk":
            return True  # account groups were joined only when granted; engine state is for everyone
        if "sub_account_id" in data:
            return _int(data["sub_account_id"]) in self.sub_account_ids
        if event == "circuit_breaker" and "scope" in data:
            if data["scope"] == "global":
                return True
            ids = self.sub_account_ids if data["scope"] == "sub_account" else self.algo_run_ids
            return _int(data.get("key")) in ids
        return self.staff


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines += [f"event: {event}", f"data: {json.dumps(data, separators=(',', ':'))}", "", ""]
    return "\n".join(lines).encode()


async def _events(scope: Scope, groups: list[str], keepalive_s: float, max_s: float) -> AsyncIterator[bytes]:
    layer = get_channel_layer()
    status = await sync_to_async(engine_status_read)(now_ms=SYSTEM_CLOCK.now_ms())
    yield b"retry: 3000\n\n"
    yield _frame("ready", {"sub_accounts": sorted(scope.sub_account_ids), "engine": status})
    if layer is None:
        return
    channel = await layer.new_channel()
    for group in groups:
        await layer.group_add(group, channel)
    try:
        started = time.monotonic()
        sent = 0
        while (left := max_s - (time.monotonic() - started)) > 0:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=min(keepalive_s, left))
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            event, data = str(message.get("event", "")), message.get("data") or {}
            if not scope.allows("risk" if event in RISK_EVENTS else "account", event, data):
                continue
            sent += 1
            yield _frame(event, {"data": data, "ts": message.get("ts")}, sent)
        yield _frame("end", {"reason": f"stream closes after {max_s:g} s; reconnect"})
    finally:
        for group in groups:
            with contextlib.suppress(Exception):  # Redis gone: the groups expire by themselves
                await layer.group_discard(group, channel)


async def event_stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if request.method != "GET":
        return JsonResponse(error_body("method_not_allowed", "use GET"), status=405)
    try:
        user, _ = await sync_to_async(_authenticate)(request)
        keepalive_s = _bounded(request.GET.get("keepalive_s"), "keepalive_s", KEEPALIVE_S)
        max_s = _bounded(request.GET.get("max_s"), "max_s", MAX_S)
    except exceptions.APIException as exc:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "invalid"
        return JsonResponse(error_body(str(code), _first_message(exc.detail)), status=exc.status_code)
    scope = await sync_to_async(Scope)(user)
    groups = [account_group(pk) for pk in sorted(scope.sub_account_ids)] + ["engine", "risk"]
    response = StreamingHttpResponse(_events(scope, groups, keepalive_s, max_s), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
