"""API keys and the risk and engine scopes: a key without the scope is refused (403) and nothing changes."""

from __future__ import annotations

from django.contrib.auth.models import User

from risk.models import RiskLimit, TradingStateRecord
from trading.models import EngineCommand


def test_a_read_only_key_reads_risk_but_cannot_change_limits_or_breakers(desk, key_client):
    client = key_client(desk["ann"], ["read"])
    assert client.get("/api/v1/risk/").status_code == 200
    refused = client.put(f"/api/v1/risk/limits/{desk['alpha'].pk}/", {"max_total_notional": "5"}, format="json")
    assert refused.status_code == 403 and "'risk' scope" in refused.json()["message"]
    trip = client.post("/api/v1/risk/breakers/trip/", {"scope": "sub_account", "key": desk["alpha"].pk,
                                                       "reason": "x"}, format="json")
    assert trip.status_code == 403
    assert not RiskLimit.objects.exists() and not TradingStateRecord.objects.exists()


def test_a_risk_key_changes_limits_within_its_users_grants_only(desk, key_client):
    client = key_client(desk["ann"], ["read", "risk"])
    ok = client.patch(f"/api/v1/risk/limits/{desk['alpha'].pk}/", {"max_total_notional": "5000"}, format="json")
    assert ok.status_code == 200
    foreign = client.patch(f"/api/v1/risk/limits/{desk['beta'].pk}/", {"max_total_notional": "5"}, format="json")
    assert foreign.status_code == 404
    assert list(RiskLimit.objects.values_list("sub_account__name", flat=True)) == ["alpha"]


def test_engine_control_needs_the_engine_scope_and_a_staff_user(desk, key_client):
    staff = User.objects.create_user("sam", password="sam-password-1", is_staff=True)
    no_scope = key_client(staff, ["read", "risk"]).post("/api/v1/engine/resume/", {}, format="json")
    assert no_scope.status_code == 403 and "'engine' scope" in no_scope.json()["message"]
    not_staff = key_client(desk["ann"], ["engine"]).post("/api/v1/engine/resume/", {}, format="json")
    assert not_staff.status_code == 403 and "only staff" in not_staff.json()["message"]
    assert not EngineCommand.objects.exists()

    assert key_client(staff, ["engine"]).post("/api/v1/engine/resume/", {}, format="json").status_code == 202
    assert EngineCommand.objects.get().actor_label.startswith("sam (key ")


def test_the_desk_limits_need_the_risk_scope_and_a_staff_user(desk, key_client):
    from risk.models import GlobalRiskLimit

    staff = User.objects.create_user("sam", password="sam-password-1", is_staff=True)
    before = list(GlobalRiskLimit.objects.values())
    read_only = key_client(staff, ["read"])
    assert read_only.get("/api/v1/risk/limits/global/").status_code == 200
    refused = read_only.put("/api/v1/risk/limits/global/", {"max_total_notional": "5"}, format="json")
    assert refused.status_code == 403 and "'risk' scope" in refused.json()["message"]
    not_staff = key_client(desk["ann"], ["read", "risk"]).put("/api/v1/risk/limits/global/",
                                                               {"max_total_notional": "5"}, format="json")
    assert not_staff.status_code == 403
    assert list(GlobalRiskLimit.objects.values()) == before

    saved = key_client(staff, ["read", "risk"]).put("/api/v1/risk/limits/global/", {"max_total_notional": "5000"},
                                                    format="json")
    assert saved.status_code == 200 and saved.json()["max_total_notional"] == "5000"
