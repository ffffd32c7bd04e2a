"""API keys: hashed at rest, scoped, expiring, revocable; a key sees what its user is granted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from access.models import ApiKey
from access.services import apikey_issue, apikey_revoke
from core.clock import SYSTEM_CLOCK, VirtualClock
from core.errors import AppError
from trading.models import AuditLog, EngineCommand

pytestmark = pytest.mark.django_db
ORDER = {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.010"}


def test_only_a_hash_of_the_key_is_stored_and_its_issue_is_audited(desk):
    api_key, raw = apikey_issue(user=desk["ann"], name="bot", scopes=["read"],
                                expires_at=SYSTEM_CLOCK.now() + timedelta(days=1), actor="test")

    stored = ApiKey.objects.get(pk=api_key.pk)
    assert raw not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    assert AuditLog.objects.filter(action="apikey_issue", target_id=str(api_key.pk)).exists()


def test_a_read_key_reads_its_users_grants_but_cannot_trade(desk, key_client):
    client = key_client(desk["ann"], ["read"])

    listed = client.get("/api/v1/sub-accounts/")
    refused = client.post("/api/v1/orders/", {"sub_account": desk["alpha"].pk, **ORDER}, format="json")

    assert [row["name"] for row in listed.json()] == ["alpha", "gamma"]
    assert refused.status_code == 403
    assert "'trade' scope" in refused.json()["message"]
    assert not EngineCommand.objects.exists()


def test_a_trade_key_places_orders_as_its_user_and_the_audit_names_the_key(desk, key_client):
    client = key_client(desk["ann"], ["read", "trade"])

    response = client.post("/api/v1/orders/", {"sub_account": desk["alpha"].pk, **ORDER}, format="json")

    assert response.status_code == 202
    assert AuditLog.objects.get(action="order_place").actor_label.startswith("ann (key ")


def test_an_expired_or_revoked_or_wrong_key_is_refused_with_401(desk):
    now = SYSTEM_CLOCK.now()
    expired, expired_raw = apikey_issue(user=desk["ann"], name="old", scopes=["read"],
                                        expires_at=now + timedelta(seconds=30), actor="test")
    revoked, revoked_raw = apikey_issue(user=desk["ann"], name="gone", scopes=["read"],
                                        expires_at=now + timedelta(days=1), actor="test")
    apikey_revoke(api_key_id=revoked.pk, actor="test")
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(seconds=1))

    for raw in (expired_raw, revoked_raw, revoked_raw[:-2] + "xx", "pms_nothing_here"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        response = client.get("/api/v1/sub-accounts/")
        assert response.status_code == 401, raw
        assert response.json()["code"] == "authentication_failed"


@pytest.mark.parametrize(("scopes", "days", "message"), [
    ([], 1, "scopes must be a non-empty subset"),
    (["root"], 1, "scopes must be a non-empty subset"),
    (["read"], 400, "expires_at must be in the future and within 365 days"),
])
def test_a_key_with_bad_scopes_or_expiry_is_not_issued(desk, scopes, days, message):
    clock = VirtualClock(SYSTEM_CLOCK.now())
    with pytest.raises(AppError, match=message):
        apikey_issue(user=desk["ann"], name="bot", scopes=scopes, expires_at=clock.now() + timedelta(days=days),
                     actor="test", clock=clock)
    assert not ApiKey.objects.exists()
