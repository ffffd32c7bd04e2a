"""API views: parse input, call a selector or an action, serialize. No rules here."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.clock import SYSTEM_CLOCK
from core.errors import NotFound
from trading.api import actions
from trading.api import serializers as s
from trading.models import EngineCommand, Fill, LedgerEntry, Order
from trading.selectors import (
    algo_run_list,
    engine_status_read,
    fill_list,
    ledger_list,
    order_list,
    position_views,
    subaccount_get_visible,
    subaccount_list_visible,
    subaccount_overview,
    subaccount_overview_list,
)
from trading.web.riskview import leverage, risk_views, with_risk


def _with_leverage(overview: Any) -> dict[str, Any]:
    return {**overview.__dict__, "leverage": leverage(overview)}


class ErrorOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    detail = serializers.JSONField()


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 415: ErrorOut, 429: ErrorOut}
READ_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}  # 400: a bad query parameter


class SubAccountListApi(APIView):
    @extend_schema(responses={200: s.SubAccountOut(many=True), **READ_ERRORS})
    def get(self, request: Request) -> Response:
        return Response(s.SubAccountOut([_with_leverage(o) for o, _ in with_risk(
            subaccount_overview_list(user=request.user))], many=True).data)


class SubAccountDetailApi(APIView):
    @extend_schema(responses={200: s.SubAccountOut, **READ_ERRORS})
    def get(self, request: Request, sub_account_id: int) -> Response:
        sub_account = subaccount_get_visible(user=request.user, sub_account_id=sub_account_id)
        (overview, _), = with_risk([subaccount_overview(sub_account=sub_account)])
        return Response(s.SubAccountOut(_with_leverage(overview)).data)


class PositionListApi(APIView):
    @extend_schema(responses={200: s.PositionOut(many=True), **READ_ERRORS}, description=(
        "Open positions. Called with an API key and no query string, the answer comes from the risk engine's "
        "latest snapshot of the sub-account (its marks, PnL and liquidation prices, refreshed on every tick); "
        "without a snapshot it is computed here from the books and the price cache."))
    def get(self, request: Request, sub_account_id: int) -> Response:
        sub_account = subaccount_get_visible(user=request.user, sub_account_id=sub_account_id)
        risk = risk_views([sub_account.pk]).get(sub_account.pk)
        liquidation = risk.liquidation_prices if risk is not None else {}
        rows = [{**p.__dict__, "liquidation_price": liquidation.get(p.symbol)}
                for p in position_views(sub_account_id=sub_account.pk)]
        return Response(s.PositionOut(rows, many=True).data)


class _SubAccountListApi(generics.ListAPIView):
    def sub_account_id(self) -> int:
        return subaccount_get_visible(user=self.request.user, sub_account_id=self.kwargs["sub_account_id"]).pk


SYMBOL = OpenApiParameter("symbol", str, description="only this symbol")


@extend_schema(parameters=[SYMBOL, OpenApiParameter("status", str, description="only this status"),
                           OpenApiParameter("open", bool, description="only orders still working")],
               responses={200: s.OrderOut(many=True), **READ_ERRORS})
class OrderListApi(_SubAccountListApi):
    serializer_class = s.OrderOut

    def get_queryset(self) -> QuerySet[Order]:
        params = self.request.query_params
        return order_list(sub_account_id=self.sub_account_id(), status=params.get("status"),
                          symbol=params.get("symbol"), open_only=params.get("open") in ("1", "true"))


@extend_schema(parameters=[SYMBOL], responses={200: s.FillOut(many=True), **READ_ERRORS})
class FillListApi(_SubAccountListApi):
    serializer_class = s.FillOut

    def get_queryset(self) -> QuerySet[Fill]:
        return fill_list(sub_account_id=self.sub_account_id(), symbol=self.request.query_params.get("symbol"))


@extend_schema(parameters=[OpenApiParameter("kind", str, enum=LedgerEntry.Kind.values, description="only this kind")],
               responses={200: s.LedgerEntryOut(many=True), **READ_ERRORS})
class LedgerListApi(_SubAccountListApi):
    serializer_class = s.LedgerEntryOut

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        return ledger_list(sub_account_id=self.sub_account_id(), kind=self.request.query_params.get("kind"))


class OrderPlaceApi(APIView):
    write_scope = "trade"

    @extend_schema(request=s.OrderPlaceIn, responses={202: s.CommandOut, **ERRORS},
                   description="Queue an order for the engine; poll /commands/{id}/ for its outcome.")
    def post(self, request: Request) -> Response:
        data = _valid(s.OrderPlaceIn, request)
        command = actions.order_place(user=request.user, data=data, actor=actions.actor_label(request.user,
                                                                                               request.auth))
        return Response(s.CommandOut(command).data, status=status.HTTP_202_ACCEPTED)


class OrderCancelApi(APIView):
    write_scope = "trade"

    @extend_schema(request=None, responses={202: s.CommandOut, **ERRORS})
    def post(self, request: Request, client_order_id: str) -> Response:
        command = actions.order_cancel(user=request.user, client_order_id=client_order_id,
                                       actor=actions.actor_label(request.user, request.auth))
        return Response(s.CommandOut(command).data, status=status.HTTP_202_ACCEPTED)


class CommandDetailApi(APIView):
    @extend_schema(responses={200: s.CommandOut, **READ_ERRORS})
    def get(self, request: Request, command_id: str) -> Response:
        command = EngineCommand.objects.filter(pk=command_id).first()
        visible = set(subaccount_list_visible(user=request.user).values_list("pk", flat=True))
        staff_sees = command is not None and command.kind.startswith("engine_") and request.user.is_staff
        if command is None or (not staff_sees and _command_sub_account(command) not in visible):
            raise NotFound(f"command {command_id} does not exist")
        return Response(s.CommandOut(command).data)


def _command_sub_account(command: EngineCommand) -> int | None:
    if "sub_account_id" in command.payload:
        return int(command.payload["sub_account_id"])
    if "client_order_id" in command.payload:
        order = Order.objects.filter(client_order_id=command.payload["client_order_id"]).first()
        return order.sub_account_id if order else None
    if "algo_run_id" in command.payload:
        from trading.models import AlgoRun

        run = AlgoRun.objects.filter(pk=command.payload["algo_run_id"]).first()
        return run.sub_account_id if run else None
    return None


@extend_schema(parameters=[OpenApiParameter("sub_account", int, description="only this sub-account"),
                           OpenApiParameter("status", str, description="only this status"),
                           OpenApiParameter("active", bool, description="only pending, running or paused runs")],
               responses={200: s.AlgoRunOut(many=True), **READ_ERRORS})
class AlgoListApi(generics.ListAPIView):
    serializer_class = s.AlgoRunOut

    def get_queryset(self) -> QuerySet[Any]:
        params = self.request.query_params
        visible = list(subaccount_list_visible(user=self.request.user).values_list("pk", flat=True))
        if params.get("sub_account"):
            wanted = _int_param(params["sub_account"], "sub_account")
            visible = [pk for pk in visible if pk == wanted]
        return algo_run_list(sub_account_ids=visible, status=params.get("status"),
                             active_only=params.get("active") in ("1", "true"))


class AlgoDetailApi(APIView):
    @extend_schema(responses={200: s.AlgoRunOut, **READ_ERRORS})
    def get(self, request: Request, algo_run_id: int) -> Response:
        run = actions.algo_run_visible(user=request.user, algo_run_id=algo_run_id)
        annotated = algo_run_list(sub_account_ids=[run.sub_account_id]).get(pk=run.pk)
        return Response(s.AlgoRunOut(annotated).data)


def algo_start_api(kind: str) -> type[APIView]:
    """One endpoint per algo kind, so the schema documents each kind's parameters."""
    input_serializer = s.ALGO_INPUTS[kind]

    class AlgoStartApi(APIView):
        write_scope = "algos"

        @extend_schema(request=input_serializer, responses={202: s.AlgoRunOut, **ERRORS},
                       operation_id=f"algos_{kind}_start", description=f"Start a {kind} run.")
        def post(self, request: Request) -> Response:
            data = _valid(input_serializer, request)
            run = actions.algo_start(user=request.user, kind=kind, data=data,
                                     actor=actions.actor_label(request.user, request.auth))
            annotated = algo_run_list(sub_account_ids=[run.sub_account_id]).get(pk=run.pk)
            return Response(s.AlgoRunOut(annotated).data, status=status.HTTP_202_ACCEPTED)

    AlgoStartApi.__name__ = AlgoStartApi.__qualname__ = f"Algo{kind.title().replace('_', '')}StartApi"
    return AlgoStartApi


class TwapBasketStartApi(APIView):
    write_scope = "algos"

    @extend_schema(request=s.TwapBasketIn, responses={202: s.AlgoRunOut(many=True), **ERRORS},
                   operation_id="algos_twap_basket_start",
                   description="Start a TWAP basket: every leg on one schedule with one combined progress, "
                               "labelled `label`; started or refused as a whole.")
    def post(self, request: Request) -> Response:
        data = _valid(s.TwapBasketIn, request)
        runs = actions.twap_basket_start(user=request.user, data=data,
                                         actor=actions.actor_label(request.user, request.auth))
        annotated = algo_run_list(sub_account_ids=[runs[0].sub_account_id]).filter(pk__in=[r.pk for r in runs])
        return Response(s.AlgoRunOut(annotated.order_by("pk"), many=True).data, status=status.HTTP_202_ACCEPTED)


def algo_action_api(action: str) -> type[APIView]:
    class AlgoActionApi(APIView):
        write_scope = "algos"

        @extend_schema(request=None, responses={202: s.CommandOut, **ERRORS}, operation_id=f"algos_{action}")
        def post(self, request: Request, algo_run_id: int) -> Response:
            command = actions.algo_act(user=request.user, algo_run_id=algo_run_id, action=action,
                                       actor=actions.actor_label(request.user, request.auth))
            return Response(s.CommandOut(command).data, status=status.HTTP_202_ACCEPTED)

    AlgoActionApi.__name__ = AlgoActionApi.__qualname__ = f"Algo{action.title()}Api"
    return AlgoActionApi


class EngineStatusApi(APIView):
    @extend_schema(responses={200: s.EngineStatusOut, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        return Response(s.EngineStatusOut(engine_status_read(now_ms=SYSTEM_CLOCK.now_ms())).data)


class EngineControlIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                   help_text="why (kept in the audit log); required to pause or stop")


def engine_control_api(action: str) -> type[APIView]:
    class EngineControlApi(APIView):
        write_scope = "engine"

        @extend_schema(request=EngineControlIn, responses={202: s.CommandOut, **ERRORS},
                       operation_id=f"engine_{action}",
                       description={"start": "Let new orders through again (same as resume).",
                                    "stop": "Stop every algo and cancel every working order, then pause.",
                                    "pause": "Refuse new orders; cancels still go.",
                                    "resume": "Let new orders through again."}[action] + " Staff only.")
        def post(self, request: Request) -> Response:
            data = _valid(EngineControlIn, request)
            command = actions.engine_control(user=request.user, action=action, reason=data["reason"],
                                             actor=actions.actor_label(request.user, request.auth))
            return Response(s.CommandOut(command).data, status=status.HTTP_202_ACCEPTED)

    EngineControlApi.__name__ = EngineControlApi.__qualname__ = f"Engine{action.title()}Api"
    return EngineControlApi


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _int_param(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise serializers.ValidationError({name: f"must be a whole number, got {raw!r}"}) from None

