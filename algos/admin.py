"""Ops' view of strategy instances: enable, disable, parameterise and bind registered strategies (no code here)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from algos.models import StrategyInstance
from algos.services import (
    strategy_instance_check,
    strategy_instance_disable,
    strategy_instance_enable,
    strategy_instance_save,
    strategy_registry,
)
from core.errors import AppError


def _strategy_choices() -> list[tuple[str, str]]:
    return [(info.name, f"{info.name} (v{info.version})") for info in strategy_registry().infos()]


class StrategyInstanceForm(forms.ModelForm):
    strategy = forms.ChoiceField(choices=_strategy_choices, help_text="a registered strategy (code or a file in "
                                 "PMS_STRATEGY_DIRS); new ones are added as files, not here")

    class Meta:
        model = StrategyInstance
        fields = ["name", "strategy", "symbols", "parameters", "sub_account", "enabled"]

    def clean_parameters(self) -> Any:
        value = self.cleaned_data.get("parameters")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError(f'parameters must be a JSON object such as {{"quantity": "0.01"}}, '
                                        f"got {json.dumps(value)}")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        sub_account = data.get("sub_account")
        if self.errors or sub_account is None:
            return data
        try:
            strategy_instance_check(strategy=data["strategy"], symbols=data.get("symbols", ""),
                                    parameters=data.get("parameters") or {}, sub_account_id=sub_account.pk)
        except AppError as exc:
            raise forms.ValidationError(f"{exc.user_message}. Change the symbols or parameters and save again.") \
                from None
        return data


@admin.register(StrategyInstance)
class StrategyInstanceAdmin(admin.ModelAdmin):
    form = StrategyInstanceForm
    list_display = ["name", "strategy", "symbols", "sub_account", "enabled", "run_status"]
    list_filter = ["enabled", "strategy"]
    search_fields = ["name", "strategy"]
    readonly_fields = ["algo_run", "run_status", "updated_at"]
    actions = ["enable", "disable"]

    @admin.display(description="run")
    def run_status(self, obj: StrategyInstance) -> str:
        run = obj.algo_run
        return "-" if run is None else f"#{run.pk} {run.status}"

    def save_model(self, request: HttpRequest, obj: StrategyInstance, form: Any, change: bool) -> None:
        strategy_instance_save(instance=obj, actor=request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or not obj.enabled  # disable an instance before deleting it: its run must stop

    @admin.action(description="Enable (start) the selected instances")
    def enable(self, request: HttpRequest, queryset: QuerySet[StrategyInstance]) -> None:
        self._each(request, queryset, strategy_instance_enable, "enabled")

    @admin.action(description="Disable (stop) the selected instances")
    def disable(self, request: HttpRequest, queryset: QuerySet[StrategyInstance]) -> None:
        self._each(request, queryset, strategy_instance_disable, "disabled")

    def _each(self, request: HttpRequest, queryset: QuerySet[StrategyInstance], action: Any, done: str) -> None:
        for instance in queryset:
            try:
                action(instance_id=instance.pk, actor=request.user)
            except AppError as exc:
                self.message_user(request, f"{instance.name} not {done}: {exc.user_message}", messages.ERROR)
            else:
                self.message_user(request, f"{instance.name} {done}", messages.SUCCESS)
