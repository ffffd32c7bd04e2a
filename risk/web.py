"""The risk page (limits, breaches, breakers, kill switch) and the risk figures the desk and account pages show.

Pages and API in `trading` may not import `risk` (layers); they read `risk_views` through the
`PMS_RISK_VIEWS` setting, and this module's routes are composed by pms_site.urls.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from core.clock import SYSTEM_CLOCK
from core.errors import AppError, NotFound
from risk.domain.limits import GlobalLimits, money
from risk.domain.states import GLOBAL, Scope, ScopeKind, TradingState, algo_scope, sub_account_scope
from risk.forms import DESK_LIMITS, GlobalLimitForm, LimitForm, overrides_text
from risk.models import BreachRecord, GlobalRiskLimit, RiskLimit, TradingStateRecord
from risk.selectors import global_limits, subaccount_margin
from risk.services import (
    GLOBAL_LIMIT_FIELDS,
    LIMIT_FIELDS,
    breaker_reset,
    breaker_trip,
    global_limit_set,
    risk_limit_set,
)
from risk.snapshots import snapshot_data, snapshot_key
from trading.api.actions import actor_label
from trading.consumers import LivePageConsumer
from trading.events import account_group
from trading.models import AlgoRun
from trading.selectors import subaccount_get_visible, subaccount_list_visible
from trading.web import panels
from trading.web.views import not_found_as_404

logger = logging.getLogger(__name__)
_clients: dict[str, redis.Redis] = {}


# -- what the desk, account page and API show ----------------------------------------------------------------

@dataclass(frozen=True)
class RiskView:
    """One sub-account's governing trading state and its margin figures from the risk snapshot."""

    sub_account_id: int
    trading_state: str  # ACTIVE / REDUCING / HALTED
    state_scope: str  # which scope governs: "global", "sub_account" or "" when active
    state_reason: str
    margin_ratio: Decimal | None  # maintenance margin / margin balance (ADL from 0.90)
    margin_balance: Decimal | None
    maint_margin: Decimal | None
    source: str  # engine (Redis snapshot), database (computed here) or unavailable
    age_ms: int | None
    liquidation_prices: dict[str, Decimal | None] = field(default_factory=dict)
    marks: dict[str, Decimal] = field(default_factory=dict)
    note: str = ""


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _clients[url]


def _decimal(raw: Any) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def snapshots_read(sub_account_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The engine's snapshots in one round trip; a missing one is computed from the database (or says why not)."""
    if not sub_account_ids:
        return {}
    try:
        raws = _redis().mget([snapshot_key(pk) for pk in sub_account_ids])
    except (redis.RedisError, OSError):
        raws = [None] * len(sub_account_ids)
    result: dict[int, dict[str, Any]] = {}
    for pk, raw in zip(sub_account_ids, raws, strict=True):
        if raw:
            result[pk] = {**json.loads(raw), "source": "engine"}
            continue
        try:
            margin = subaccount_margin(sub_account_id=pk)
        except LookupError as exc:  # a position in a symbol whose brackets the engine has not stored yet
            result[pk] = {"source": "unavailable", "note": str(exc)}
            continue
        result[pk] = snapshot_data(pk, margin, state="", at_ms=SYSTEM_CLOCK.now_ms(), extra={"source": "database"})
    return result


def _states(sub_account_ids: Iterable[int]) -> tuple[TradingStateRecord | None, dict[int, TradingStateRecord]]:
    rows = TradingStateRecord.objects.filter(scope_kind=ScopeKind.SUB_ACCOUNT.value, scope_key__in=list(
        sub_account_ids)) | TradingStateRecord.objects.filter(scope_kind=ScopeKind.GLOBAL.value)
    global_row, by_sub = None, {}
    for row in rows:
        if row.scope_kind == ScopeKind.GLOBAL.value:
            global_row = row
        else:
            by_sub[row.scope_key] = row
    return global_row, by_sub


def _governing(global_row: TradingStateRecord | None, row: TradingStateRecord | None) -> tuple[str, str, str]:
    worst: TradingStateRecord | None = None
    for candidate in (global_row, row):
        if candidate is not None and candidate.state != TradingState.ACTIVE.value and (
                worst is None or TradingState(candidate.state).severity > TradingState(worst.state).severity):
            worst = candidate
    if worst is None:
        return "ACTIVE", "", ""
    return worst.state.upper(), worst.scope_kind, worst.reason


def risk_views(*, sub_account_ids: Iterable[int]) -> dict[int, RiskView]:
    ids = list(sub_account_ids)
    global_row, by_sub = _states(ids)
    snapshots = snapshots_read(ids)
    now_ms = SYSTEM_CLOCK.now_ms()
    views = {}
    for pk in ids:
        state, scope, reason = _governing(global_row, by_sub.get(pk))
        snap = snapshots.get(pk, {})
        positions = snap.get("positions", [])
        at_ms = snap.get("at_ms")
        views[pk] = RiskView(
            sub_account_id=pk, trading_state=state, state_scope=scope, state_reason=reason,
            margin_ratio=_decimal(snap.get("margin_ratio")), margin_balance=_decimal(snap.get("margin_balance")),
            maint_margin=_decimal(snap.get("maint_margin")), source=snap.get("source", "unavailable"),
            age_ms=now_ms - at_ms if isinstance(at_ms, int) else None,
            liquidation_prices={p["symbol"]: _decimal(p.get("liquidation_price")) for p in positions},
            marks={p["symbol"]: m for p in positions if (m := _decimal(p.get("mark_price"))) is not None},
            note=snap.get("note", ""))
    return views


# -- who may see and change what ----------------------------------------------------------------------------

def visible_ids(user: Any) -> list[int]:
    return list(subaccount_list_visible(user=user).values_list("pk", flat=True))


def scope_parse(kind: str, key: Any) -> Scope:
    try:
        scope_kind = ScopeKind(str(kind))
    except ValueError:
        raise AppError(f"scope must be one of {', '.join(k.value for k in ScopeKind)}, got {kind!r}") from None
    if scope_kind is ScopeKind.GLOBAL:
        return GLOBAL
    try:
        number = int(key)
    except (TypeError, ValueError):
        raise AppError(f"key must be the {scope_kind.value.replace('_', '-')} id, got {key!r}") from None
    return sub_account_scope(number) if scope_kind is ScopeKind.SUB_ACCOUNT else algo_scope(number)


def scope_check(*, user: Any, scope: Scope) -> None:
    """Sub-account and algo scopes: only within the caller's grants (404 otherwise). Global: staff only."""
    if scope.kind is ScopeKind.GLOBAL:
        if not getattr(user, "is_staff", False):
            raise PermissionDenied("only staff may trip or reset the global kill switch")
        return
    if scope.kind is ScopeKind.SUB_ACCOUNT:
        subaccount_get_visible(user=user, sub_account_id=scope.key)
        return
    run = AlgoRun.objects.filter(pk=scope.key).only("sub_account_id").first()
    if run is None or run.sub_account_id not in visible_ids(user):
        raise NotFound(f"algo run {scope.key} does not exist")


def breaker_act(*, user: Any, action: str, scope: Scope, reason: str, state: str, actor: str) -> TradingStateRecord:
    scope_check(user=user, scope=scope)
    if action == "reset":
        return breaker_reset(scope=scope, reason=reason, actor=actor)
    try:
        trip_state = TradingState(state)
    except ValueError:
        raise AppError(f"state must be halted or reducing, got {state!r}") from None
    return breaker_trip(scope=scope, reason=reason, actor=actor, state=trip_state)


def breaches_visible(*, user: Any, limit: int = 50) -> list[BreachRecord]:
    ids = visible_ids(user)
    runs = list(AlgoRun.objects.filter(sub_account_id__in=ids).values_list("pk", flat=True))
    rows = (BreachRecord.objects.filter(scope_kind=ScopeKind.SUB_ACCOUNT.value, scope_key__in=ids)
            | BreachRecord.objects.filter(scope_kind=ScopeKind.ALGO.value, scope_key__in=runs)
            | BreachRecord.objects.filter(scope_kind=ScopeKind.GLOBAL.value))
    return list(rows.order_by("-created_at", "-id")[:limit])


def limits_values(row: RiskLimit | None) -> dict[str, Any]:
    return {name: (getattr(row, name) if row is not None else ([] if name == "allowed_symbols" else None))
            for name in LIMIT_FIELDS}


def global_limits_check(*, user: Any) -> None:
    """The desk's limits bind every sub-account: anyone signed in may read them, only staff may change them."""
    if not _staff(user):
        raise PermissionDenied("only staff may change the desk limits: they bind every sub-account")


def global_limits_values(limits: GlobalLimits) -> dict[str, Any]:
    return {"max_symbol_net_notional": limits.max_symbol_net_notional,
            "max_total_notional": limits.max_total_notional,
            "per_symbol_net_notional": dict(sorted(limits.per_symbol_net_notional.items()))}


def _amount_text(value: Decimal | None) -> str | None:
    """An amount as a form field shows it: "2000000", not "2000000.000000000000000000" or "2E+6"."""
    return None if value is None else format(value.normalize(), "f")


def desk_limit_rows(limits: GlobalLimits) -> list[dict[str, str]]:
    """The desk limits as the panel lists them; an empty value (no limit) is shown as "—"."""
    shown = {name: money(value) if value is not None else "" for name, value in (
        ("max_symbol_net_notional", limits.max_symbol_net_notional), ("max_total_notional", limits.max_total_notional))}
    shown["per_symbol_net_notional"] = ", ".join(
        f"{symbol} {money(value)}" for symbol, value in sorted(limits.per_symbol_net_notional.items()))
    return [{"name": name, "label": label, "unit": unit, "value": shown[name]}
            for name, (label, unit) in DESK_LIMITS.items()]


# -- the page ------------------------------------------------------------------------------------------------

def _staff(user: Any) -> bool:
    return bool(getattr(user, "is_staff", False))


def page_context(*, user: Any, panel: str | None = None) -> dict[str, Any]:
    subs = list(subaccount_list_visible(user=user))
    context: dict[str, Any] = {"is_staff": _staff(user)}
    if panel in (None, "risk-states"):
        views = risk_views(sub_account_ids=[s.pk for s in subs])
        global_row = TradingStateRecord.objects.filter(scope_kind=ScopeKind.GLOBAL.value).first()
        algo_states = TradingStateRecord.objects.filter(
            scope_kind=ScopeKind.ALGO.value, scope_key__in=list(AlgoRun.objects.filter(
                sub_account__in=subs).values_list("pk", flat=True))).exclude(state=TradingState.ACTIVE.value)
        sub_rows = {row.scope_key: row for row in TradingStateRecord.objects.filter(
            scope_kind=ScopeKind.SUB_ACCOUNT.value, scope_key__in=[s.pk for s in subs])}
        context.update({"global_state": global_row, "algo_states": list(algo_states), "rows": [
            {"sub": s, "view": views[s.pk], "own": sub_rows.get(s.pk)} for s in subs]})
    if panel in (None, "risk-limits"):
        limits = {row.sub_account_id: row for row in RiskLimit.objects.filter(sub_account__in=subs)}
        context["limit_rows"] = [{"sub": s, "limits": limits.get(s.pk)} for s in subs]
        context["desk_limits"] = desk_limit_rows(global_limits())
    if panel in (None, "risk-breaches"):
        context["breaches"] = breaches_visible(user=user)
    return context


@login_required
def risk_page(request: HttpRequest) -> HttpResponse:
    return render(request, "risk/risk.html", {**page_context(user=request.user), **panels.status_context()})


@login_required
@require_http_methods(["GET", "POST"])
@not_found_as_404
def limit_form(request: HttpRequest, sub_account_id: int) -> HttpResponse:
    """GET: the form with the current limits. POST: save, or show the form again with what to change."""
    sub_account = subaccount_get_visible(user=request.user, sub_account_id=sub_account_id)
    row = RiskLimit.objects.filter(sub_account=sub_account).first()
    saved = False
    if request.method == "POST":
        form = LimitForm(request.POST)
        if form.is_valid():
            try:
                risk_limit_set(sub_account_id=sub_account.pk, values=form.cleaned_data,
                               actor=actor_label(request.user))
                saved = True
            except AppError as exc:
                form.add_error(None, exc.user_message)
    else:
        initial = limits_values(row)
        initial["allowed_symbols"] = ", ".join(initial["allowed_symbols"] or [])
        form = LimitForm(initial=initial)
    return render(request, "risk/risk.html#limit-form", {"form": form, "sub_account": sub_account, "saved": saved})


@login_required
@require_http_methods(["GET", "POST"])
def global_limit_form(request: HttpRequest) -> HttpResponse:
    """Staff only. GET: the form with the desk's limits. POST: save (the panel shows the new values), or show the
    form again with what to change."""
    try:
        global_limits_check(user=request.user)
    except PermissionDenied as exc:
        return render(request, "trading/flash.html", {"message": str(exc), "css": "error"}, status=403)
    saved = False
    if request.method == "POST":
        form = GlobalLimitForm(request.POST, instance=GlobalRiskLimit(name="desk"))
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in GLOBAL_LIMIT_FIELDS}
            try:
                global_limit_set(values=values, actor=actor_label(request.user))
                saved = True
            except AppError as exc:
                form.add_error(None, exc.user_message)
    else:
        current = global_limits_values(global_limits())
        form = GlobalLimitForm(initial={name: overrides_text(value) if isinstance(value, dict) else _amount_text(value)
                                        for name, value in current.items()})
    context: dict[str, Any] = {"form": form, "saved": saved, "is_staff": True, "desk_oob": saved}
    if saved:  # the panel's values are swapped in beside the form
        context["desk_limits"] = desk_limit_rows(global_limits())
    return render(request, "risk/risk.html#global-limit-form", context)


@login_required
@require_POST
def breaker_form(request: HttpRequest, action: str) -> HttpResponse:
    """Trip or reset one scope (a reason is required); the kill switch is the global scope's trip."""
    if action not in ("trip", "reset"):
        raise Http404("unknown breaker action")
    try:
        scope = scope_parse(request.POST.get("scope", ""), request.POST.get("key"))
        if scope.kind is ScopeKind.GLOBAL and action == "trip" and request.POST.get("confirm") != "HALT":
            raise AppError('type HALT in the confirmation box to halt every sub-account')
        row = breaker_act(user=request.user, action=action, scope=scope, reason=request.POST.get("reason", ""),
                          state=request.POST.get("state", "halted"), actor=actor_label(request.user))
    except NotFound as exc:
        raise Http404(exc.user_message) from None
    except PermissionDenied as exc:
        return render(request, "trading/flash.html", {"message": str(exc), "css": "error"}, status=403)
    except AppError as exc:
        return render(request, "trading/flash.html", {"message": exc.user_message, "css": "error"})
    message = f"{scope}: now {row.state} ({row.reason})"
    return render(request, "trading/flash.html", {"message": message, "css": "ok"})


urlpatterns = [
    path("risk/", risk_page, name="page"),
    path("risk/limits/<int:sub_account_id>/", limit_form, name="limit-form"),
    path("risk/limits/global/", global_limit_form, name="global-limit-form"),
    path("risk/breakers/<str:action>/", breaker_form, name="breaker"),
]
app_name = "risk"


# -- live updates --------------------------------------------------------------------------------------------

RISK_PANELS = ("status", "risk-states", "risk-limits", "risk-breaches")
RISK_EVENTS = {"circuit_breaker": ("risk-states", "risk-breaches"), "risk_alert": ("risk-breaches", "status"),
               "adl_triggered": ("risk-states", "risk-breaches"), "margin_updated": ("risk-states",),
               "engine_state": ("status",)}


class RiskConsumer(LivePageConsumer):
    """The risk page's socket: the risk group, the engine and the granted sub-accounts' margin updates."""

    page = "risk"
    panel_names = RISK_PANELS
    tick_panels = {"status": 2.0, "risk-states": 2.0}

    def _groups(self) -> list[str]:
        return [account_group(pk) for pk in visible_ids(self.user)] + ["engine", "risk"]

    def panels_for(self, event: str) -> tuple[str, ...]:
        return RISK_EVENTS.get(event, ())

    def render_panel(self, name: str, version: int | str, snapshot: bool,
                     shared: dict[str, Any] | None = None) -> str:
        if name == "status":
            context = panels.status_context()
            template = "trading/base_panels.html#status"
        else:
            context = page_context(user=self.user, panel=name)
            template = f"risk/risk.html#{name}"
        context.update({"oob": True, "version": version, "snapshot": snapshot})
        return render_to_string(template, context)

