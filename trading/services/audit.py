"""The append-only audit trail of operator actions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

from core.clock import SYSTEM_CLOCK, Clock
from trading.events import plain
from trading.models import AuditLog


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | str | None,
    action: str,
    target_type: str,
    target_id: object = "",
    payload: dict[str, Any] | None = None,
    result: str = "ok",
    clock: Clock = SYSTEM_CLOCK,
) -> AuditLog:
    """Who did what to which object, and how it ended; call inside the action's transaction."""
    user = actor if isinstance(actor, User) else None
    if user is not None:
        label = user.get_username()
    elif isinstance(actor, str):
        label = actor
    else:
        label = "anonymous"
    return AuditLog.objects.create(
        actor=user, actor_label=label, action=action, target_type=target_type, target_id=str(target_id),
        payload=plain(payload or {}), result=result[:255], created_at=clock.now(),
    )
