"""Issuing, checking and revoking API keys; every change is audited."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction

from access.models import ApiKey, Scope
from core.clock import SYSTEM_CLOCK, Clock
from core.errors import AppError, NotFound
from trading.services.audit import audit_record

KEY_PREFIX = "pms"
MAX_LIFETIME = timedelta(days=365)


def key_hash(raw_key: str) -> str:
    # A key carries 256 random bits: a plain SHA-256 cannot be brute-forced, and checking it stays cheap.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    clean = sorted(set(scopes))
    unknown = [scope for scope in clean if scope not in Scope.values]
    if unknown or not clean:
        raise AppError(f"scopes must be a non-empty subset of {', '.join(Scope.values)}; "
                       f"got {', '.join(clean) or 'none'}", code="invalid_scopes")
    return clean


@transaction.atomic
def apikey_issue(*, user: User, name: str, scopes: Iterable[str], expires_at: datetime,
                 actor: AbstractBaseUser | str, clock: Clock = SYSTEM_CLOCK) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned once and never stored."""
    now = clock.now()
    clean = _clean_scopes(scopes)
    if not name.strip():
        raise AppError("name is required: say what the key is for")
    if expires_at <= now or expires_at - now > MAX_LIFETIME:
        raise AppError(f"expires_at must be in the future and within {MAX_LIFETIME.days} days")
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(user=user, name=name.strip(), prefix=prefix, key_hash=key_hash(raw_key),
                                    scopes=clean, expires_at=expires_at, created_at=now)
    audit_record(actor=actor, action="apikey_issue", target_type="api_key", target_id=api_key.pk,
                 payload={"user": user.get_username(), "name": api_key.name, "scopes": clean,
                          "expires_at": expires_at, "prefix": prefix}, clock=clock)
    return api_key, raw_key


@transaction.atomic
def apikey_revoke(*, api_key_id: int, actor: AbstractBaseUser | str, clock: Clock = SYSTEM_CLOCK) -> ApiKey:
    api_key = ApiKey.objects.select_for_update().filter(pk=api_key_id).first()
    if api_key is None:
        raise NotFound(f"API key {api_key_id} does not exist")
    if api_key.revoked_at is None:
        api_key.revoked_at = clock.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="apikey_revoke", target_type="api_key", target_id=api_key.pk, clock=clock)
    return api_key


def apikey_find(*, raw_key: str) -> ApiKey | None:
    """The key (with its user) this raw key belongs to, unless unknown, the secret is wrong, it was revoked or
    its user is inactive. Expiry is the caller's to check, on its clock."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    api_key = ApiKey.objects.select_related("user").filter(prefix=parts[1]).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, key_hash(raw_key)):
        return None
    if api_key.revoked_at is not None or not api_key.user.is_active:
        return None
    return api_key


def apikey_authenticate(*, raw_key: str, clock: Clock = SYSTEM_CLOCK) -> ApiKey | None:
    """The live key this raw key belongs to, or None (unknown, wrong secret, expired, revoked, inactive user)."""
    api_key = apikey_find(raw_key=raw_key)
    now = clock.now()
    if api_key is None or api_key.expires_at <= now:
        return None
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)  # coarse, to keep reads cheap
    return api_key
