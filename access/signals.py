"""Every change that can alter what an API key reaches increments the access generation (access.keycache)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save

from access.keycache import access_generation_bump
from access.models import ApiKey
from trading.models import SubAccount


def _changed(**_: Any) -> None:
    access_generation_bump()


def connect() -> None:
    user_model = get_user_model()
    for model in (ApiKey, user_model, SubAccount):
        post_save.connect(_changed, sender=model, dispatch_uid=f"access-generation-save-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"access-generation-delete-{model.__name__}")
    m2m_changed.connect(_changed, sender=SubAccount.operators.through, dispatch_uid="access-generation-operators")
