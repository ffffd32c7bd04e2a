"""Pages: log in, desk, sub-account (with launchers and algo buttons), market, risk, event and reconciliation logs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import AppError, NotFound
from trading.api import actions
from trading.models import AuditLog, EngineCommand, ReconciliationLog
from trading.selectors import subaccount_get_visible, subaccount_list_visible
from trading.web import panels
from trading.web.forms import ALGO_FORMS


def not_found_as_404(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Outside the caller's grants a page answers 404, exactly like one that does not exist."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.user_message) from None

    return wrapped


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    return render(request, "trading/desk.html", {**panels.desk_context(user=request.user),
                                                 **panels.status_context()})


@login_required
@not_found_as_404
def account(request: HttpRequest, sub_account_id: int) -> HttpResponse:
    context = panels.account_context(user=request.user, sub_account_id=sub_account_id)
    kind = request.GET.get("algo", "chase")
    label, form_class = ALGO_FORMS.get(kind, ALGO_FORMS["chase"])
    context.update(panels.status_context())
    context.update({"algo_kinds": [(k, v[0]) for k, v in ALGO_FORMS.items()], "kind": kind if kind in ALGO_FORMS
                    else "chase", "kind_label": label, "form": form_class()})
    return render(request, "trading/account.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@not_found_as_404
def algo_form(request: HttpRequest, sub_account_id: int, kind: str) -> HttpResponse:
    """GET: an empty launcher. POST: start the algo, or show the form again with what to change."""
    sub_account = subaccount_get_visible(user=request.user, sub_account_id=sub_account_id)
    if kind not in ALGO_FORMS:
        raise Http404(f"unknown algo {kind!r}")
    label, form_class = ALGO_FORMS[kind]
    form = form_class(request.POST if request.method == "POST" else None)
    started: list[Any] = []
    if request.method == "POST" and form.is_valid():
        data, actor = {"sub_account": sub_account.pk, **form.cleaned_data}, actions.actor_label(request.user)
        try:
            if kind == "twap_basket":
                started = actions.twap_basket_start(user=request.user, data=data, actor=actor)
            else:
                started = [actions.algo_start(user=request.user, kind=kind, data=data, actor=actor)]
            form = form_class()
        except AppError as exc:
            form.add_error(None, exc.user_message)
    return render(request, "trading/algo_form.html#form", {"form": form, "kind": kind, "kind_label": label,
                                                           "sub_account": sub_account, "started": started})


@login_required
@require_POST
@not_found_as_404
def algo_action(request: HttpRequest, algo_run_id: int, action: str) -> HttpResponse:
    try:
        command = actions.algo_act(user=request.user, algo_run_id=algo_run_id, action=action,
                                   actor=actions.actor_label(request.user))
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        return _flash(request, exc.user_message, ok=False)
    return _flash(request, f"{action} sent to algo #{algo_run_id} (command {str(command.pk)[:8]})", ok=True)


@login_required
@require_POST
@not_found_as_404
def order_cancel(request: HttpRequest, client_order_id: str) -> HttpResponse:
    actions.order_cancel(user=request.user, client_order_id=client_order_id, actor=actions.actor_label(request.user))
    return _flash(request, f"cancel sent for {client_order_id}", ok=True)


@login_required
@not_found_as_404
def market(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("sub_account", "")
    if raw and not raw.isdigit():
        raise Http404(f"sub-account {raw!r} does not exist")
    chart = panels.chart_context(user=request.user, sub_account_id=int(raw) if raw else None,
                                 symbol=request.GET.get("symbol"))
    query = f"?sub_account={chart['chart_sub'].pk}&symbol={chart['chart_symbol']}" if chart["chart_sub"] else ""
    return render(request, "trading/market.html", {**panels.market_context(), **panels.status_context(), **chart,
                                                   "ws_query": query})


@login_required
@require_POST
def engine_control(request: HttpRequest) -> HttpResponse:
    try:
        command = actions.engine_control(user=request.user, action=request.POST.get("action", ""),
                                         reason=request.POST.get("reason", ""), actor=actions.actor_label(request.user))
    except PermissionDenied as exc:
        return render(request, "trading/flash.html", {"message": str(exc), "css": "error"}, status=403)
    except AppError as exc:
        return _flash(request, exc.user_message, ok=False)
    return _flash(request, f"{command.kind.removeprefix('engine_')} sent to the engine (command {str(command.pk)[:8]})",
                  ok=True)


@login_required
def events(request: HttpRequest) -> HttpResponse:
    name = request.user.get_username()
    visible = {str(pk) for pk in subaccount_list_visible(user=request.user).values_list("pk", flat=True)}
    audit = AuditLog.objects.filter(actor_label__in=[name]) | AuditLog.objects.filter(
        actor_label__startswith=f"{name} (key ")
    commands = [c for c in EngineCommand.objects.order_by("-created_at")[:200]
                if str(c.payload.get("sub_account_id", "")) in visible][:50]
    return render(request, "trading/events.html", {"audit": audit.order_by("-created_at")[:100], "commands": commands})


@staff_member_required
def reconciliation(request: HttpRequest) -> HttpResponse:
    return render(request, "trading/reconciliation.html",
                  {"runs": ReconciliationLog.objects.order_by("-started_at")[:200]})


def _flash(request: HttpRequest, message: str, *, ok: bool) -> HttpResponse:
    css = "ok" if ok else "error"
    context: dict[str, Any] = {"message": message, "css": css}
    return render(request, "trading/flash.html", context)
