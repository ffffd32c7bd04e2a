"""Risk in the REST API: status from the risk snapshot, limits with validation, breakers with a reason, grants."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User

from core.clock import SYSTEM_CLOCK
from risk.api import RiskGlobalLimitApi, RiskLimitApi
from risk.models import GlobalRiskLimit, RiskLimit, TradingStateRecord
from risk.services import risk_changes_notify
from risk.snapshots import snapshot_key
from trading.models import AuditLog
from trading.tests.api.conftest import _fresh_throttle_history, client_for, desk  # noqa: F401 - fixtures

D = Decimal


@pytest.fixture
def snapshot(desk):  # noqa: F811
    """What the engine's risk evaluation writes for alpha: a long BTC position and its liquidation price."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = snapshot_key(desk["alpha"].pk)
    client.set(key, json.dumps({
        "sub_account_id": desk["alpha"].pk, "state": "active", "at_ms": SYSTEM_CLOCK.now_ms(),
        "wallet_balance": "10000", "unrealized_pnl": "12.5", "margin_balance": "10012.5",
        "initial_margin": "30", "maint_margin": "2.4", "margin_ratio": "0.00023970",
        "available_balance": "9982.5", "total_notional": "600",
        "positions": [{"symbol": "BTCUSDT", "quantity": "0.01", "entry_price": "60000", "mark_price": "61250",
                       "notional": "612.5", "unrealized_pnl": "12.5", "leverage": 20, "initial_margin": "30",
                       "maint_margin": "2.4", "liquidation_price": "1234.5"}]}), ex=30)
    yield
    client.delete(key)


def test_risk_status_shows_the_governing_state_and_the_snapshot_margin_of_granted_sub_accounts(
        desk, snapshot, client_for):  # noqa: F811
    TradingStateRecord.objects.create(scope_kind="sub_account", scope_key=desk["gamma"].pk, state="reducing",
                                      reason="daily loss", changed_at=SYSTEM_CLOCK.now())

    body = client_for(desk["ann"]).get("/api/v1/risk/").json()

    rows = {row["name"]: row for row in body["sub_accounts"]}
    assert set(rows) == {"alpha", "gamma"}
    assert rows["alpha"]["trading_state"] == "ACTIVE" and rows["alpha"]["source"] == "engine"
    assert rows["alpha"]["margin_ratio"] == "0.0002397"
    assert rows["alpha"]["positions"] == [{"symbol": "BTCUSDT", "liquidation_price": "1234.5"}]
    assert rows["gamma"]["trading_state"] == "REDUCING" and rows["gamma"]["state_reason"] == "daily loss"
    assert rows["gamma"]["source"] == "database"
    assert body["global_state"]["state"] == "active"


def test_a_global_halt_governs_every_sub_account_in_the_api_and_the_sub_account_list(desk, client_for):  # noqa: F811
    TradingStateRecord.objects.create(scope_kind="global", scope_key=0, state="halted", reason="kill switch",
                                      changed_at=SYSTEM_CLOCK.now())
    client = client_for(desk["bob"])

    status = client.get("/api/v1/risk/").json()
    listed = client.get("/api/v1/sub-accounts/").json()

    assert {row["trading_state"] for row in status["sub_accounts"]} == {"HALTED"}
    assert {row["trading_state"] for row in listed} == {"HALTED"}
    assert status["sub_accounts"][0]["state_scope"] == "global"


def test_positions_carry_the_liquidation_price_of_the_risk_snapshot(desk, snapshot, client_for):  # noqa: F811
    from trading.models import VirtualPosition

    VirtualPosition.objects.create(sub_account=desk["alpha"], symbol="BTCUSDT", quantity=D("0.01"),
                                   average_entry=D("60000"), updated_at=SYSTEM_CLOCK.now())
    rows = client_for(desk["ann"]).get(f"/api/v1/sub-accounts/{desk['alpha'].pk}/positions/").json()
    assert rows[0]["liquidation_price"] == "1234.5"


def test_limits_are_read_and_replaced_and_the_change_is_audited(desk, client_for):  # noqa: F811
    client = client_for(desk["ann"])
    url = f"/api/v1/risk/limits/{desk['alpha'].pk}/"
    assert client.get(url).json()["max_total_notional"] is None

    response = client.put(url, {"max_position_notional": "5000", "max_total_notional": "20000",
                                "allowed_symbols": ["btcusdt"]}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["max_position_notional"] == "5000"
    row = RiskLimit.objects.get(sub_account=desk["alpha"])
    assert row.max_total_notional == D("20000") and row.allowed_symbols == ["BTCUSDT"]
    assert AuditLog.objects.filter(action="risk.limit_set", actor_label="ann").exists()

    patched = client.patch(url, {"max_orders_per_minute": 60}, format="json").json()
    assert patched["max_orders_per_minute"] == 60 and patched["max_total_notional"] == "20000"
    replaced = client.put(url, {"max_daily_loss": "300"}, format="json").json()
    assert replaced["max_total_notional"] is None and replaced["max_daily_loss"] == "300"


@pytest.mark.parametrize(("body", "message"), [
    ({"max_total_notional": "-5"}, "max_total_notional: must be a positive amount (got -5)"),
    ({"max_position_notional": "9000", "max_total_notional": "1000"},
     "max_position_notional: 9000 is above the max total notional 1000"),
    ({"allowed_symbols": ["BTCUSDT", "DOGEUSDT"]}, "allowed_symbols: unknown symbol(s): DOGEUSDT"),
    ({"max_leverage": "abc"}, "max_leverage: A valid number is required."),
    ({"max_open_orders": 0}, "max_open_orders: must be at least 1"),
    ({"max_drawdown_pct": "150"}, "max_drawdown_pct: must be a percentage above 0 and at most 100"),
    ({"max_loss": "5"}, "max_loss: unknown limit"),
])
def test_bad_limits_are_refused_with_what_to_change_and_change_nothing(desk, client_for, body, message):  # noqa: F811
    RiskLimit.objects.create(sub_account=desk["alpha"], max_total_notional=D("50000"))
    response = client_for(desk["ann"]).put(f"/api/v1/risk/limits/{desk['alpha'].pk}/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and message in response.json()["message"]
    assert RiskLimit.objects.get(sub_account=desk["alpha"]).max_total_notional == D("50000")
    assert not AuditLog.objects.filter(action="risk.limit_set").exists()


def test_limits_outside_the_callers_grants_answer_404_and_change_nothing(desk, client_for):  # noqa: F811
    client = client_for(desk["bob"])
    url = f"/api/v1/risk/limits/{desk['alpha'].pk}/"
    assert client.get(url).status_code == 404
    assert client.put(url, {"max_total_notional": "1"}, format="json").status_code == 404
    assert not RiskLimit.objects.exists()


def test_a_breaker_trips_and_resets_with_a_reason_and_is_listed(desk, client_for):  # noqa: F811
    client = client_for(desk["ann"])
    missing = client.post("/api/v1/risk/breakers/trip/", {"scope": "sub_account", "key": desk["alpha"].pk},
                          format="json")
    assert missing.status_code == 400 and missing.json()["message"].startswith("reason:")
    assert not TradingStateRecord.objects.exists()

    tripped = client.post("/api/v1/risk/breakers/trip/", {"scope": "sub_account", "key": desk["alpha"].pk,
                                                          "state": "reducing", "reason": "fat finger"}, format="json")
    assert tripped.status_code == 200 and tripped.json()["state"] == "reducing"
    listed = client.get("/api/v1/risk/breakers/").json()
    assert [(r["scope"], r["state"]) for r in listed] == [("global", "active"), ("sub_account", "reducing")]
    assert AuditLog.objects.filter(action="risk.state_reducing", actor_label="ann").exists()

    blank = client.post("/api/v1/risk/breakers/reset/", {"scope": "sub_account", "key": desk["alpha"].pk,
                                                         "reason": "   "}, format="json")
    assert blank.status_code == 400 and "reason" in blank.json()["message"]
    reset = client.post("/api/v1/risk/breakers/reset/", {"scope": "sub_account", "key": desk["alpha"].pk,
                                                         "reason": "checked"}, format="json")
    assert reset.json()["state"] == "active"


def test_the_global_kill_switch_is_for_staff_only(desk, client_for):  # noqa: F811
    body = {"scope": "global", "reason": "exchange incident"}
    refused = client_for(desk["ann"]).post("/api/v1/risk/breakers/trip/", body, format="json")
    assert refused.status_code == 403 and "only staff" in refused.json()["message"]
    assert not TradingStateRecord.objects.exists()

    staff = User.objects.create_user("sam", password="sam-password-1", is_staff=True)
    tripped = client_for(staff).post("/api/v1/risk/breakers/trip/", body, format="json")
    assert tripped.status_code == 200 and TradingStateRecord.objects.get(scope_kind="global").state == "halted"


def test_breakers_outside_the_grants_answer_404_and_bad_scopes_say_what_is_expected(desk, client_for):  # noqa: F811
    client = client_for(desk["bob"])
    foreign = client.post("/api/v1/risk/breakers/trip/", {"scope": "sub_account", "key": desk["alpha"].pk,
                                                          "reason": "x"}, format="json")
    assert foreign.status_code == 404
    no_key = client.post("/api/v1/risk/breakers/trip/", {"scope": "algo", "reason": "x"}, format="json")
    assert no_key.status_code == 400 and no_key.json()["message"] == "key: the algo id is required for this scope"
    bad = client.post("/api/v1/risk/breakers/trip/", {"scope": "desk", "reason": "x"}, format="json")
    assert bad.status_code == 400 and "scope" in bad.json()["message"]
    assert not TradingStateRecord.objects.exists()


def test_anyone_signed_in_reads_the_desk_limits_with_amounts_as_strings(desk, client_for):  # noqa: F811
    client = client_for(desk["bob"])
    assert client.get("/api/v1/risk/limits/global/").json() == {
        "max_symbol_net_notional": None, "max_total_notional": None, "per_symbol_net_notional": {}}
    GlobalRiskLimit.objects.create(name="desk", max_total_notional=D("2500000"),
                                   per_symbol_net_notional={"BTCUSDT": "1000000"})

    body = client.get("/api/v1/risk/limits/global/").json()

    assert body == {"max_symbol_net_notional": None, "max_total_notional": "2500000",
                    "per_symbol_net_notional": {"BTCUSDT": "1000000"}}


def test_staff_replace_the_desk_limits_and_the_change_is_audited_and_sent_to_the_engine(
        desk, client_for, django_capture_on_commit_callbacks):  # noqa: F811
    staff = User.objects.create_user("sam", password="sam-password-1", is_staff=True)
    client = client_for(staff)
    url = "/api/v1/risk/limits/global/"

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.put(url, {"max_symbol_net_notional": "1000000", "max_total_notional": "3000000",
                                    "per_symbol_net_notional": {"btcusdt": "2000000"}}, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {"max_symbol_net_notional": "1000000", "max_total_notional": "3000000",
                               "per_symbol_net_notional": {"BTCUSDT": "2000000"}}
    row = GlobalRiskLimit.objects.get(name="desk")
    assert row.max_total_notional == D(3000000) and row.per_symbol_net_notional == {"BTCUSDT": "2000000"}
    assert AuditLog.objects.filter(action="risk.global_limit_set", actor_label="sam").exists()
    assert risk_changes_notify in callbacks
    replaced = client.put(url, {"max_total_notional": "4000000"}, format="json").json()
    assert replaced == {"max_symbol_net_notional": None, "max_total_notional": "4000000",
                        "per_symbol_net_notional": {}}


def test_a_non_staff_operator_cannot_change_the_desk_limits(desk, client_for):  # noqa: F811
    refused = client_for(desk["ann"]).put("/api/v1/risk/limits/global/", {"max_total_notional": "1000"},
                                          format="json")

    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied" and "only staff" in refused.json()["message"]
    assert not GlobalRiskLimit.objects.exists()
    assert not AuditLog.objects.filter(action="risk.global_limit_set").exists()


def test_an_api_key_changes_the_desk_limits_only_with_the_risk_scope_like_a_sub_accounts_limits():
    # the scope itself is enforced by access.permissions.HasScope (tested in access/tests, above this layer)
    assert RiskGlobalLimitApi.write_scope == RiskLimitApi.write_scope == "risk"


@pytest.mark.parametrize(("body", "message"), [
    ({"max_total_notional": "-5"}, "max_total_notional: must be a positive amount (got -5)"),
    ({"max_symbol_net_notional": "abc"}, "max_symbol_net_notional: A valid number is required."),
    ({"per_symbol_net_notional": {"DOGEUSDT": "5"}}, "per_symbol_net_notional: unknown symbol(s): DOGEUSDT"),
    ({"per_symbol_net_notional": {"BTCUSDT": "0"}}, "per_symbol_net_notional: must be positive amounts: BTCUSDT=0"),
    ({"per_symbol_net_notional": {"btcusdt": "5", "BTCUSDT": "6"}}, "per_symbol_net_notional: BTCUSDT is given twice"),
    ({"max_loss": "5"}, "max_loss: unknown limit"),
])
def test_bad_desk_limits_are_refused_with_what_to_change_and_change_nothing(desk, client_for, body, message):  # noqa: F811
    GlobalRiskLimit.objects.create(name="desk", max_total_notional=D("5000000"))
    staff = User.objects.create_user("sam", password="sam-password-1", is_staff=True)

    response = client_for(staff).put("/api/v1/risk/limits/global/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and message in response.json()["message"]
    assert GlobalRiskLimit.objects.get().max_total_notional == D("5000000")
    assert not AuditLog.objects.filter(action="risk.global_limit_set").exists()
