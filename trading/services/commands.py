"""Engine commands: validated rows plus a NOTIFY; the engine answers on the row (DESIGN §1)."""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction

from core.clock import SYSTEM_CLOCK, Clock
from core.errors import AppError, NotFound
from trading.domain.client_ids import OrderOrigin, client_id_make, encode_base62
from trading.domain.types import OrderType, Side, TimeInForce
from trading.models import EngineCommand, Instrument, SubAccount

NOTIFY_CHANNEL = "pms_engine_commands"
KINDS = frozenset({"place_order", "cancel_order", "cancel_all"})


def _decimal(payload: dict[str, Any], name: str, *, required: bool) -> Decimal | None:
    raw = payload.get(name)
    if raw is None or raw == "":
        if required:
            raise AppError(f"{name} is required")
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise AppError(f"{name} must be a number, got {raw!r}") from None
    if not value.is_finite() or value <= 0:
        raise AppError(f"{name} must be a positive number, got {raw}")
    return value


def _sub_account(reference: object) -> SubAccount:
    rows = SubAccount.objects.filter(pk=reference) if isinstance(reference, int) else SubAccount.objects.filter(
        name=str(reference))
    sub_account = rows.first()
    if sub_account is None:
        raise NotFound(f"unknown sub-account {reference!r}")
    return sub_account


def _place_order_payload(payload: dict[str, Any]) -> dict[str, Any]:
    sub_account = _sub_account(payload.get("sub_account"))
    symbol = str(payload.get("symbol", "")).upper()
    if not Instrument.objects.filter(symbol=symbol).exists():
        raise NotFound(f"unknown symbol {symbol!r}")
    try:
        side = Side(str(payload.get("side", "")).lower())
    except ValueError:
        raise AppError(f"side must be buy or sell, got {payload.get('side')!r}") from None
    quantity = _decimal(payload, "quantity", required=True)
    price = _decimal(payload, "price", required=False)
    order_type = OrderType.LIMIT if price is not None else OrderType.MARKET
    tif = payload.get("time_in_force")
    if tif is not None and tif not in TimeInForce.__members__:
        raise AppError(f"time_in_force must be one of GTC, IOC, FOK, GTX, got {tif!r}")
    origin = OrderOrigin.LMT if order_type is OrderType.LIMIT else OrderOrigin.MKT
    # Fixed now so that running the command twice (engine restart) can never place two orders.
    client_order_id = client_id_make(sub_account.code, origin, encode_base62(secrets.randbits(62)))
    return {"sub_account_id": sub_account.pk, "symbol": symbol, "side": side.value, "quantity": str(quantity),
            "price": str(price) if price is not None else None, "order_type": order_type.value,
            "time_in_force": tif, "reduce_only": bool(payload.get("reduce_only", False)),
            "client_order_id": client_order_id}


def _validated(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    if kind not in KINDS:
        raise AppError(f"unknown command {kind!r}; expected one of {', '.join(sorted(KINDS))}")
    if kind == "place_order":
        return _place_order_payload(payload)
    if kind == "cancel_order":
        client_order_id = str(payload.get("client_order_id", ""))
        if not client_order_id:
            raise AppError("client_order_id is required")
        return {"client_order_id": client_order_id}
    sub_account = _sub_account(payload.get("sub_account")) if payload.get("sub_account") is not None else None
    return {"sub_account_id": sub_account.pk if sub_account else None,
            "symbol": str(payload["symbol"]).upper() if payload.get("symbol") else None}


def command_submit(*, kind: str, payload: dict[str, Any], actor: str, clock: Clock = SYSTEM_CLOCK) -> EngineCommand:
    """Validate and queue a command for the engine; the NOTIFY goes out only if the row commits."""
    clean = _validated(kind, payload)
    with transaction.atomic():
        command = EngineCommand.objects.create(id=uuid.uuid4(), kind=kind, payload=clean, actor_label=actor,
                                               created_at=clock.now())
        transaction.on_commit(lambda: notify_engine(command.pk))
    return command


def notify_engine(command_id: uuid.UUID) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, str(command_id)])
