"""Operator actions shared by the API and the pages: scope check, then the owning app's service, audited.

Entry points call these; the rules stay in the services (trading.services, algos.services).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from algos import services as algo_services
from core.clock import SYSTEM_CLOCK
from core.errors import AppError, NotFound
from trading.events import plain
from trading.models import AlgoRun, EngineCommand, Order
from trading.selectors import subaccount_get_visible
from trading.services.audit import audit_record
from trading.services.commands import command_submit, notify_engine

ALGO_ACTIONS = ("stop", "pause", "resume")
ENGINE_ACTIONS = ("start", "stop", "pause", "resume")


def actor_label(user: Any, auth: Any = None) -> str:
    """Who acted, as the audit log and command rows name them: the user, and the API key when one was used."""
    prefix = getattr(auth, "prefix", None)
    return f"{user.get_username()} (key {prefix})" if prefix else str(user.get_username())


def order_place(*, user: Any, data: dict[str, Any], actor: str) -> EngineCommand:
    """Queue an order for the engine (never straight to the exchange); the command and its audit row commit together."""
    sub_account = subaccount_get_visible(user=user, sub_account_id=int(data["sub_account"]))
    payload = plain({**data, "sub_account": sub_account.pk})
    with transaction.atomic():
        command = command_submit(kind="place_order", payload=payload, actor=actor)
        audit_record(actor=actor, action="order_place", target_type="order",
                     target_id=command.payload["client_order_id"], payload=payload, result=f"queued {command.pk}")
    return command


def order_cancel(*, user: Any, client_order_id: str, actor: str) -> EngineCommand:
    order = Order.objects.filter(client_order_id=client_order_id).only("sub_account_id").first()
    if order is None:
        raise NotFound(f"order {client_order_id} does not exist")
    subaccount_get_visible(user=user, sub_account_id=order.sub_account_id)  # NotFound outside the caller's grants
    with transaction.atomic():
        command = command_submit(kind="cancel_order", payload={"client_order_id": client_order_id}, actor=actor)
        audit_record(actor=actor, action="order_cancel", target_type="order", target_id=client_order_id,
                     result=f"queued {command.pk}")
    return command


def algo_start(*, user: Any, kind: str, data: dict[str, Any], actor: str) -> AlgoRun:
    """algos.services.algo_start validates the parameters against the instrument and audits the start."""
    sub_account = subaccount_get_visible(user=user, sub_account_id=int(data["sub_account"]))
    params = {key: value for key, value in plain(data).items() if key != "sub_account" and value is not None}
    return algo_services.algo_start(kind=kind, sub_account_id=sub_account.pk, params=params, actor=actor)


def twap_basket_start(*, user: Any, data: dict[str, Any], actor: str) -> list[AlgoRun]:
    """One basket run (algos kind `basket`): every leg on one schedule with one combined progress, started or
    refused as a whole; a refusal names the leg it is about."""
    sub_account = subaccount_get_visible(user=user, sub_account_id=int(data["sub_account"]))
    legs = [{key: value for key, value in plain(leg).items() if value is not None} for leg in data["legs"]]
    params = {"lots": data["lots"], "interval_s": data["interval_s"], "basket": data["label"], "legs": legs}
    try:
        return [algo_services.algo_start(kind="basket", sub_account_id=sub_account.pk, params=params, actor=actor)]
    except AppError as exc:
        raise AppError(_leg_named(exc.user_message, legs), code=exc.code) from None


def _leg_named(message: str, legs: list[dict[str, Any]]) -> str:
    for number, leg in enumerate(legs, start=1):
        symbol = str(leg.get("symbol", "")).upper()
        if message.startswith(f"{symbol}: "):
            return f"leg {number} ({symbol}): {message.removeprefix(f'{symbol}: ')}"
        if f"'{symbol}'" in message:
            return f"leg {number} ({symbol}): {message}"
    return message


def algo_run_visible(*, user: Any, algo_run_id: int) -> AlgoRun:
    run = AlgoRun.objects.filter(pk=algo_run_id).first()
    if run is None:
        raise NotFound(f"algo run {algo_run_id} does not exist")
    try:
        subaccount_get_visible(user=user, sub_account_id=run.sub_account_id)
    except NotFound:
        raise NotFound(f"algo run {algo_run_id} does not exist") from None
    return run


def algo_act(*, user: Any, algo_run_id: int, action: str, actor: str) -> EngineCommand:
    """Stop, pause or resume through the algos app's service of that name (each audits itself)."""
    if action not in ALGO_ACTIONS:
        raise AppError(f"action must be one of {', '.join(ALGO_ACTIONS)}, got {action!r}")
    run = algo_run_visible(user=user, algo_run_id=algo_run_id)
    service = getattr(algo_services, f"algo_{action}", None)
    if service is None:
        raise AppError(f"{action} is not available in this version of the algo engine", code="not_available")
    result: EngineCommand = service(algo_run_id=run.pk, actor=actor)
    return result



def engine_control(*, user: Any, action: str, reason: str, actor: str) -> EngineCommand:
    """Start, stop, pause or resume the whole engine (staff only: it acts on every sub-account); audited."""
    if action not in ENGINE_ACTIONS:
        raise AppError(f"action must be one of {', '.join(ENGINE_ACTIONS)}, got {action!r}")
    if not getattr(user, "is_staff", False):
        raise PermissionDenied("only staff may control the engine: it acts on every sub-account")
    reason = reason.strip()
    if action in ("stop", "pause") and not reason:
        raise AppError(f"a reason is required to {action} the engine")
    with transaction.atomic():
        command = EngineCommand.objects.create(id=uuid.uuid4(), kind=f"engine_{action}", payload={"reason": reason},
                                               actor_label=actor, created_at=SYSTEM_CLOCK.now())
        audit_record(actor=actor, action=f"engine_{action}", target_type="engine", target_id="engine",
                     payload={"reason": reason}, result=f"queued {command.pk}")
        transaction.on_commit(lambda: notify_engine(command.pk))
    return command
