"""Risk in the REST API (/api/v1/risk/...): status from the risk snapshot, limits, breaches and breakers.

Thin views over risk.services and risk.web's reads; composed into /api/v1/ by pms_site.urls.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import AppError
from risk.domain.limits import GlobalLimits, SubAccountLimits, global_limit_errors, limit_errors
from risk.domain.states import ScopeKind
from risk.models import BreachRecord, RiskLimit, TradingStateRecord, known_symbols
from risk.selectors import global_limits
from risk.services import GLOBAL_LIMIT_FIELDS, LIMIT_FIELDS, global_limit_set, risk_limit_set
from risk.web import (
    breaker_act,
    global_limits_check,
    global_limits_values,
    limits_values,
    risk_views,
    scope_parse,
    visible_ids,
)
from trading.api.actions import actor_label
from trading.api.serializers import DecimalString
from trading.api.views import ERRORS, READ_ERRORS
from trading.models import AlgoRun
from trading.selectors import subaccount_get_visible, subaccount_list_visible

STATES = ["active", "reducing", "halted"]


class LiquidationOut(serializers.Serializer):
    symbol = serializers.CharField()
    liquidation_price = DecimalString(allow_null=True, help_text="null when the position cannot be liquidated")


class RiskSubAccountOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    trading_state = serializers.ChoiceField(choices=["ACTIVE", "REDUCING", "HALTED"],
                                            help_text="the strictest of the global and the sub-account's state")
    state_scope = serializers.CharField(allow_blank=True, help_text="which scope governs: global or sub_account")
    state_reason = serializers.CharField(allow_blank=True)
    margin_ratio = DecimalString(allow_null=True, help_text="maintenance margin / margin balance; ADL from 0.90")
    margin_balance = DecimalString(allow_null=True)
    maint_margin = DecimalString(allow_null=True)
    source = serializers.ChoiceField(choices=["engine", "database", "unavailable"],
                                     help_text="engine: its Redis snapshot; database: computed on this request")
    age_ms = serializers.IntegerField(allow_null=True)
    positions = LiquidationOut(many=True)


class ScopeStateOut(serializers.Serializer):
    scope = serializers.ChoiceField(choices=[k.value for k in ScopeKind])
    key = serializers.IntegerField()
    state = serializers.ChoiceField(choices=STATES)
    trigger = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    changed_by = serializers.CharField(allow_blank=True)
    changed_at = serializers.DateTimeField(allow_null=True)


class RiskStatusOut(serializers.Serializer):
    global_state = ScopeStateOut()
    sub_accounts = RiskSubAccountOut(many=True)


class LimitsSerializer(serializers.Serializer):
    """Every limit is optional; null (or absent on PUT) means no limit."""

    max_position_notional = DecimalString(required=False, allow_null=True, help_text="USDT per symbol")
    max_total_notional = DecimalString(required=False, allow_null=True, help_text="USDT over every symbol")
    max_leverage = DecimalString(required=False, allow_null=True, help_text="total notional / margin balance")
    max_open_orders = serializers.IntegerField(required=False, allow_null=True)
    max_orders_per_minute = serializers.IntegerField(required=False, allow_null=True)
    max_order_notional = DecimalString(required=False, allow_null=True, help_text="USDT per order")
    max_daily_loss = DecimalString(required=False, allow_null=True)
    max_drawdown_pct = DecimalString(required=False, allow_null=True)
    rapid_drawdown_pct = DecimalString(required=False, allow_null=True)
    allowed_symbols = serializers.ListField(child=serializers.CharField(max_length=32), required=False,
                                            help_text="empty allows every symbol")
    price_band_pct = DecimalString(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(LIMIT_FIELDS)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError(
                {name: f"unknown limit; expected one of {', '.join(LIMIT_FIELDS)}" for name in unknown})
        attrs = {name: _plain(value) for name, value in attrs.items()}
        merged: dict[str, Any] = {**dict.fromkeys(LIMIT_FIELDS), "allowed_symbols": [],
                                  **self.context.get("current", {}), **attrs}
        merged["allowed_symbols"] = sorted({s.strip().upper() for s in merged.get("allowed_symbols") or []
                                            if s.strip()})
        limits = SubAccountLimits(**{name: merged.get(name) for name in LIMIT_FIELDS if name != "allowed_symbols"},
                                  allowed_symbols=frozenset(merged["allowed_symbols"]))
        errors = limit_errors(limits, known_symbols=known_symbols())
        if errors:
            raise serializers.ValidationError(errors)
        return merged


class GlobalLimitsSerializer(serializers.Serializer):
    """The desk's limits across sub-accounts; null (or absent on PUT) means no limit."""

    max_symbol_net_notional = DecimalString(required=False, allow_null=True,
                                            help_text="USDT of |Σ sub-account quantities| x mark, per symbol")
    max_total_notional = DecimalString(required=False, allow_null=True,
                                       help_text="USDT over every sub-account and symbol")
    per_symbol_net_notional = serializers.DictField(
        child=DecimalString(), required=False,
        help_text='USDT per symbol, replacing max_symbol_net_notional there, e.g. {"BTCUSDT": "2000000"}')

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(GLOBAL_LIMIT_FIELDS)) if isinstance(self.initial_data,
                                                                                          dict) else []
        if unknown:
            raise serializers.ValidationError(
                {name: f"unknown limit; expected one of {', '.join(GLOBAL_LIMIT_FIELDS)}" for name in unknown})
        values: dict[str, Any] = {"max_symbol_net_notional": _plain(attrs.get("max_symbol_net_notional")),
                                  "max_total_notional": _plain(attrs.get("max_total_notional")),
                                  "per_symbol_net_notional": {}}
        for symbol, amount in (attrs.get("per_symbol_net_notional") or {}).items():
            name = symbol.strip().upper()
            if name in values["per_symbol_net_notional"]:
                raise serializers.ValidationError({"per_symbol_net_notional": f"{name} is given twice"})
            values["per_symbol_net_notional"][name] = _plain(amount)
        errors = global_limit_errors(GlobalLimits(**values), known_symbols=known_symbols())
        if errors:
            raise serializers.ValidationError(errors)
        return values


def _plain(value: Any) -> Any:
    """DRF quantizes decimals to 18 places; messages and the audit log should say "-5", not "-5.000…"."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return value
    plain = value.normalize()
    return plain if plain.as_tuple().exponent <= 0 else plain.quantize(Decimal(1))  # type: ignore[operator]


class BreakerIn(serializers.Serializer):
    scope = serializers.ChoiceField(choices=[k.value for k in ScopeKind])
    key = serializers.IntegerField(required=False, min_value=1,
                                   help_text="the sub-account or algo run id; omit for the global scope")
    reason = serializers.CharField(max_length=500, help_text="required: why (kept in the audit log)")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["scope"] != ScopeKind.GLOBAL.value and attrs.get("key") is None:
            raise serializers.ValidationError({"key": f"the {attrs['scope']} id is required for this scope"})
        return attrs


class BreakerTripIn(BreakerIn):
    state = serializers.ChoiceField(choices=["halted", "reducing"], default="halted",
                                    help_text="halted: cancels only; reducing: orders that reduce exposure only")


class BreachOut(serializers.ModelSerializer):
    class Meta:
        model = BreachRecord
        fields = ["id", "scope_kind", "scope_key", "kind", "state_after", "detail", "created_at"]


def _state_out(row: TradingStateRecord | None, scope: str = "global", key: int = 0) -> dict[str, Any]:
    if row is None:
        return {"scope": scope, "key": key, "state": "active", "trigger": "", "reason": "", "changed_by": "",
                "changed_at": None}
    return {"scope": row.scope_kind, "key": row.scope_key, "state": row.state, "trigger": row.trigger,
            "reason": row.reason, "changed_by": row.changed_by, "changed_at": row.changed_at}


def _valid(serializer: serializers.Serializer) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class RiskStatusApi(APIView):
    @extend_schema(responses={200: RiskStatusOut, **READ_ERRORS},
                   description="The global trading state and, per granted sub-account, the governing state and the "
                               "margin figures of the engine's risk snapshot (computed from the database when the "
                               "snapshot is missing).")
    def get(self, request: Request) -> Response:
        subs = list(subaccount_list_visible(user=request.user))
        views = risk_views(sub_account_ids=[s.pk for s in subs])
        rows = []
        for sub in subs:
            view = views[sub.pk]
            rows.append({**view.__dict__, "id": sub.pk, "name": sub.name, "positions": [
                {"symbol": symbol, "liquidation_price": price} for symbol, price in view.liquidation_prices.items()]})
        global_row = TradingStateRecord.objects.filter(scope_kind=ScopeKind.GLOBAL.value).first()
        return Response(RiskStatusOut({"global_state": _state_out(global_row), "sub_accounts": rows}).data)


class RiskLimitApi(APIView):
    write_scope = "risk"

    @extend_schema(responses={200: LimitsSerializer, **READ_ERRORS}, operation_id="risk_limits_read")
    def get(self, request: Request, sub_account_id: int) -> Response:
        sub = subaccount_get_visible(user=request.user, sub_account_id=sub_account_id)
        return Response(LimitsSerializer(limits_values(RiskLimit.objects.filter(sub_account=sub).first())).data)

    @extend_schema(request=LimitsSerializer, responses={200: LimitsSerializer, **ERRORS},
                   operation_id="risk_limits_replace",
                   description="Replace every limit (an absent field means no limit). Refused values change nothing.")
    def put(self, request: Request, sub_account_id: int) -> Response:
        return self._save(request, sub_account_id, partial=False)

    @extend_schema(request=LimitsSerializer, responses={200: LimitsSerializer, **ERRORS},
                   operation_id="risk_limits_update", description="Change only the limits given.")
    def patch(self, request: Request, sub_account_id: int) -> Response:
        return self._save(request, sub_account_id, partial=True)

    def _save(self, request: Request, sub_account_id: int, *, partial: bool) -> Response:
        sub = subaccount_get_visible(user=request.user, sub_account_id=sub_account_id)
        if not isinstance(request.data, dict):
            raise AppError("send a JSON object of limits", code="invalid")
        current = limits_values(RiskLimit.objects.filter(sub_account=sub).first()) if partial else {}
        values = _valid(LimitsSerializer(data=request.data, context={"current": current}))
        row = risk_limit_set(sub_account_id=sub.pk, values=values, actor=actor_label(request.user, request.auth))
        return Response(LimitsSerializer(limits_values(row)).data)


class RiskGlobalLimitApi(APIView):
    write_scope = "risk"

    @extend_schema(responses={200: GlobalLimitsSerializer, **READ_ERRORS}, operation_id="risk_limits_global_read",
                   description="The desk's limits across sub-accounts (anyone signed in may read them).")
    def get(self, request: Request) -> Response:
        return Response(GlobalLimitsSerializer(global_limits_values(global_limits())).data)

    @extend_schema(request=GlobalLimitsSerializer, responses={200: GlobalLimitsSerializer, **ERRORS},
                   operation_id="risk_limits_global_replace",
                   description="Replace every desk limit (an absent field means no limit); audited, and the engine "
                               "applies them at once. Staff only. Refused values change nothing.")
    def put(self, request: Request) -> Response:
        global_limits_check(user=request.user)
        if not isinstance(request.data, dict):
            raise AppError("send a JSON object of limits", code="invalid")
        values = _valid(GlobalLimitsSerializer(data=request.data))
        row = global_limit_set(values=values, actor=actor_label(request.user, request.auth))
        return Response(GlobalLimitsSerializer(global_limits_values(row.to_domain())).data)


@extend_schema(parameters=[OpenApiParameter("sub_account", int, description="only this sub-account")],
               responses={200: BreachOut(many=True), **READ_ERRORS})
class BreachListApi(generics.ListAPIView):
    serializer_class = BreachOut

    def get_queryset(self) -> QuerySet[BreachRecord]:
        ids = visible_ids(self.request.user)
        wanted = self.request.query_params.get("sub_account")
        if wanted not in (None, ""):
            try:
                ids = [pk for pk in ids if pk == int(wanted)]
            except ValueError:
                raise serializers.ValidationError({"sub_account": f"must be a whole number, got {wanted!r}"}) from None
        runs = list(AlgoRun.objects.filter(sub_account_id__in=ids).values_list("pk", flat=True))
        rows = (BreachRecord.objects.filter(scope_kind=ScopeKind.SUB_ACCOUNT.value, scope_key__in=ids)
                | BreachRecord.objects.filter(scope_kind=ScopeKind.ALGO.value, scope_key__in=runs))
        if wanted in (None, ""):
            rows = rows | BreachRecord.objects.filter(scope_kind=ScopeKind.GLOBAL.value)
        return rows.order_by("-created_at", "-id")


class BreakerListApi(APIView):
    @extend_schema(responses={200: ScopeStateOut(many=True), **READ_ERRORS},
                   description="Every scope the caller may see that is not active (the global scope always listed).")
    def get(self, request: Request) -> Response:
        ids = visible_ids(request.user)
        runs = list(AlgoRun.objects.filter(sub_account_id__in=ids).values_list("pk", flat=True))
        rows = (TradingStateRecord.objects.filter(scope_kind=ScopeKind.SUB_ACCOUNT.value, scope_key__in=ids)
                | TradingStateRecord.objects.filter(scope_kind=ScopeKind.ALGO.value, scope_key__in=runs)
                ).exclude(state="active")
        global_row = TradingStateRecord.objects.filter(scope_kind=ScopeKind.GLOBAL.value).first()
        return Response(ScopeStateOut([_state_out(global_row), *(_state_out(r) for r in rows)], many=True).data)


def breaker_api(action: str) -> type[APIView]:
    input_serializer = BreakerTripIn if action == "trip" else BreakerIn

    class BreakerApi(APIView):
        write_scope = "risk"

        @extend_schema(request=input_serializer, responses={200: ScopeStateOut, **ERRORS},
                       operation_id=f"risk_breakers_{action}",
                       description="Trip (halted or reducing) or reset (active) one scope, with a reason; audited. "
                                   "The global scope (the kill switch) is for staff only.")
        def post(self, request: Request) -> Response:
            data = _valid(input_serializer(data=request.data))
            scope = scope_parse(data["scope"], data.get("key"))
            row = breaker_act(user=request.user, action=action, scope=scope, reason=data["reason"],
                              state=data.get("state", "halted"), actor=actor_label(request.user, request.auth))
            return Response(ScopeStateOut(_state_out(row)).data)

    BreakerApi.__name__ = BreakerApi.__qualname__ = f"Breaker{action.title()}Api"
    return BreakerApi


app_name = "risk_api"
urlpatterns = [
    path("risk/", RiskStatusApi.as_view(), name="status"),
    path("risk/limits/<int:sub_account_id>/", RiskLimitApi.as_view(), name="limits"),
    path("risk/limits/global/", RiskGlobalLimitApi.as_view(), name="limits-global"),
    path("risk/breaches/", BreachListApi.as_view(), name="breaches"),
    path("risk/breakers/", BreakerListApi.as_view(), name="breakers"),
    path("risk/breakers/trip/", breaker_api("trip").as_view(), name="breaker-trip"),
    path("risk/breakers/reset/", breaker_api("reset").as_view(), name="breaker-reset"),
]
