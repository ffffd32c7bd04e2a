"""Ops' view of risk: limits editable with validation, states set through the audited services, history read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest

from core.errors import AppError
from risk import models
from risk.domain.states import Scope, ScopeKind, TradingState
from risk.services import risk_changes_notify, trading_state_set
from trading.admin import ReadOnlyAdmin
from trading.services.audit import audit_record


def _changes(form: Any) -> dict[str, Any]:
    """The changed fields as plain data for the audit log (a related row by its id)."""
    changed = {}
    for name in form.changed_data:
        value = form.cleaned_data.get(name)
        changed[name] = value.pk if isinstance(value, Model) else value
    return changed


@admin.register(models.RiskLimit)
class RiskLimitAdmin(admin.ModelAdmin):
    list_display = ["sub_account", "max_position_notional", "max_total_notional", "max_leverage",
                    "max_orders_per_minute", "max_daily_loss", "updated_at"]
    search_fields = ["sub_account__name"]

    def save_model(self, request: HttpRequest, obj: models.RiskLimit, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # clean() ran in the form: only valid limits get here
        transaction.on_commit(risk_changes_notify)
        audit_record(actor=request.user, action="risk.limit_set", target_type="sub_account",
                     target_id=obj.sub_account_id, payload=_changes(form))


@admin.register(models.GlobalRiskLimit)
class GlobalRiskLimitAdmin(admin.ModelAdmin):
    list_display = ["name", "max_symbol_net_notional", "max_total_notional", "updated_at"]

    def save_model(self, request: HttpRequest, obj: models.GlobalRiskLimit, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        transaction.on_commit(risk_changes_notify)
        audit_record(actor=request.user, action="risk.global_limit_set", target_type="global_risk_limit",
                     target_id=obj.name, payload=_changes(form))


class TradingStateForm(forms.ModelForm):
    class Meta:
        model = models.TradingStateRecord
        fields = ["scope_kind", "scope_key", "state", "reason"]

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data.get("reason", "")).strip()
        if not reason:
            raise forms.ValidationError("say why the trading state changes")
        return reason


@admin.register(models.TradingStateRecord)
class TradingStateAdmin(admin.ModelAdmin):
    """Trips and resets go through trading_state_set: audited, and the engine is told."""

    form = TradingStateForm
    list_display = ["scope_kind", "scope_key", "state", "trigger", "reason", "changed_by", "changed_at"]
    list_filter = ["state", "scope_kind"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: models.TradingStateRecord, form: Any, change: bool) -> None:
        scope = Scope(ScopeKind(obj.scope_kind), obj.scope_key)
        try:
            saved = trading_state_set(scope=scope, state=TradingState(obj.state), reason=obj.reason,
                                      actor=request.user)
        except AppError as exc:
            self.message_user(request, exc.user_message, level=messages.ERROR)
            return
        obj.pk = saved.pk


@admin.register(models.BreachRecord)
class BreachRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "scope_kind", "scope_key", "kind", "state_after", "detail"]
    list_filter = ["kind", "scope_kind"]


@admin.register(models.AdlAction)
class AdlActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "sub_account", "tier", "margin_ratio", "symbol", "side", "quantity", "result"]


@admin.register(models.LeverageBracketTable)
class LeverageBracketTableAdmin(ReadOnlyAdmin):
    list_display = ["symbol", "fetched_at"]


@admin.register(models.EquityState)
class EquityStateAdmin(ReadOnlyAdmin):
    list_display = ["sub_account", "day", "day_open_equity", "peak_equity", "updated_at"]


@admin.register(models.MarkHistory)
class MarkHistoryAdmin(ReadOnlyAdmin):
    list_display = ["symbol", "hour", "mark_price", "seen_at"]
    list_filter = ["symbol"]
