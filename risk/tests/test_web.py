"""The risk page and the risk figures on the desk and account pages."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User

from core.clock import SYSTEM_CLOCK
from risk.models import GlobalRiskLimit, RiskLimit, TradingStateRecord
from risk.services import risk_changes_notify
from risk.snapshots import snapshot_key
from trading.models import AuditLog, VirtualPosition
from trading.tests.api.conftest import _fresh_throttle_history, client_for, desk  # noqa: F401 - fixtures

D = Decimal


@pytest.fixture
def alpha_snapshot(desk):  # noqa: F811
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = snapshot_key(desk["alpha"].pk)
    client.set(key, json.dumps({"sub_account_id": desk["alpha"].pk, "at_ms": SYSTEM_CLOCK.now_ms(),
                                "margin_balance": "10000", "maint_margin": "6200", "margin_ratio": "0.62",
                                "positions": [{"symbol": "BTCUSDT", "liquidation_price": "41234.5"}]}), ex=30)
    yield
    client.delete(key)


def test_the_desk_shows_the_risk_engines_state_not_the_sub_account_status(desk, client_for):  # noqa: F811
    TradingStateRecord.objects.create(scope_kind="sub_account", scope_key=desk["alpha"].pk, state="halted",
                                      reason="order rate", changed_at=SYSTEM_CLOCK.now())
    html = client_for(desk["ann"]).get("/").content.decode()
    alpha_row = html.split('data-sub-account="alpha"')[1].split("</tr>")[0]
    gamma_row = html.split('data-sub-account="gamma"')[1].split("</tr>")[0]
    assert "HALTED" in alpha_row and "ACTIVE" in gamma_row


def test_the_account_page_shows_margin_ratio_and_liquidation_price_from_the_snapshot(
        desk, alpha_snapshot, client_for):  # noqa: F811
    VirtualPosition.objects.create(sub_account=desk["alpha"], symbol="BTCUSDT", quantity=D("0.01"),
                                   average_entry=D("60000"), updated_at=SYSTEM_CLOCK.now())
    html = client_for(desk["ann"]).get(f"/accounts/{desk['alpha'].pk}/").content.decode()
    assert 'data-margin-ratio="0.62"' in html and "bar-warn" in html
    assert '<td class="num liq" title="from the risk snapshot">41234.50</td>' in html


def test_the_risk_page_lists_granted_sub_accounts_limits_and_breaches_only(desk, client_for):  # noqa: F811
    from risk.models import BreachRecord

    for sub, kind in (("alpha", "daily_loss"), ("beta", "order_rate")):
        BreachRecord.objects.create(scope_kind="sub_account", scope_key=desk[sub].pk, kind=kind, state_after="halted",
                                    detail=f"{kind} on {sub}", created_at=SYSTEM_CLOCK.now())
    html = client_for(desk["ann"]).get("/risk/").content.decode()
    assert 'data-risk-sub="alpha"' in html and 'data-risk-sub="beta"' not in html
    assert "daily_loss on alpha" in html and "order_rate on beta" not in html
    assert 'id="kill-switch"' not in html and "Only staff can use the kill switch" in html


def test_the_limit_form_says_what_to_change_and_saves_nothing_until_it_is_right(desk, client_for):  # noqa: F811
    client = client_for(desk["ann"])
    url = f"/risk/limits/{desk['alpha'].pk}/"
    bad = client.post(url, {"max_total_notional": "-1", "max_position_notional": "", "allowed_symbols": "XYZUSDT"})
    html = bad.content.decode()
    assert 'data-error="max_total_notional"' in html and "must be a positive amount (got -1)" in html
    assert "unknown symbol(s): XYZUSDT" in html
    relation = client.post(url, {"max_total_notional": "1000", "max_position_notional": "2000"}).content.decode()
    assert "2000 is above the max total notional 1000; lower it or raise the total" in relation
    assert not RiskLimit.objects.exists()

    ok = client.post(url, {"max_total_notional": "1000", "max_position_notional": "500",
                           "allowed_symbols": "btcusdt, ethusdt"}).content.decode()
    assert 'data-saved="1"' in ok
    row = RiskLimit.objects.get(sub_account=desk["alpha"])
    assert row.max_position_notional == D("500") and row.allowed_symbols == ["BTCUSDT", "ETHUSDT"]
    assert client_for(desk["bob"]).get(url).status_code == 404


def test_trip_and_reset_need_a_reason_and_the_kill_switch_a_typed_confirmation(desk, client_for):  # noqa: F811
    client = client_for(desk["ann"])
    no_reason = client.post("/risk/breakers/trip/", {"scope": "sub_account", "key": desk["alpha"].pk,
                                                     "state": "halted", "reason": ""}).content.decode()
    assert "a reason is required" in no_reason and not TradingStateRecord.objects.exists()
    client.post("/risk/breakers/trip/", {"scope": "sub_account", "key": desk["alpha"].pk, "state": "halted",
                                         "reason": "runaway strategy"})
    assert TradingStateRecord.objects.get().state == "halted"
    assert client.post("/risk/breakers/reset/", {"scope": "sub_account", "key": desk["beta"].pk,
                                                 "reason": "x"}).status_code == 404
    assert client.post("/risk/breakers/trip/", {"scope": "global", "reason": "x", "confirm": "HALT"}
                       ).status_code == 403

    staff = User.objects.create_user("sam", password="sam-password-1", is_staff=True)
    staff_client = client_for(staff)
    assert 'id="kill-switch"' in staff_client.get("/risk/").content.decode()
    unconfirmed = staff_client.post("/risk/breakers/trip/", {"scope": "global", "reason": "incident"})
    assert "type HALT" in unconfirmed.content.decode()
    assert not TradingStateRecord.objects.filter(scope_kind="global").exists()
    staff_client.post("/risk/breakers/trip/", {"scope": "global", "reason": "incident", "confirm": "HALT"})
    assert TradingStateRecord.objects.get(scope_kind="global").state == "halted"
    assert AuditLog.objects.filter(action="risk.state_halted", actor_label="sam").exists()


def test_the_risk_page_shows_the_desk_limits_with_units_and_a_dash_when_not_set(desk, client_for):  # noqa: F811
    GlobalRiskLimit.objects.create(name="desk", max_total_notional=D("2500000"),
                                   per_symbol_net_notional={"BTCUSDT": "1000000"})

    html = client_for(desk["ann"]).get("/risk/").content.decode()

    assert "<h2>Desk limits</h2>" in html
    total = html.split('data-desk-limit="max_total_notional"')[1].split("</tr>")[0]
    assert "Max total notional" in total and "2,500,000" in total and "USDT over every sub-account" in total
    per_symbol = html.split('data-desk-limit="max_symbol_net_notional"')[1].split("</tr>")[0]
    assert '<td class="num">—</td>' in per_symbol
    overrides = html.split('data-desk-limit="per_symbol_net_notional"')[1].split("</tr>")[0]
    assert "BTCUSDT 1,000,000" in overrides


def test_a_non_staff_operator_sees_the_desk_limits_read_only_and_cannot_change_them(desk, client_for):  # noqa: F811
    client = client_for(desk["ann"])
    html = client.get("/risk/").content.decode()
    assert "Only staff can change the desk limits" in html and "Edit desk limits" not in html

    assert client.get("/risk/limits/global/").status_code == 403
    refused = client.post("/risk/limits/global/", {"max_total_notional": "1000"})

    assert refused.status_code == 403 and "only staff may change the desk limits" in refused.content.decode()
    assert not GlobalRiskLimit.objects.exists()
    assert not AuditLog.objects.filter(action="risk.global_limit_set").exists()


def test_staff_edit_the_desk_limits_and_the_change_is_audited_and_sent_to_the_engine(
        desk, client_for, django_capture_on_commit_callbacks):  # noqa: F811
    staff = User.objects.create_user("sam", password="sam-password-1", is_staff=True)
    client = client_for(staff)
    assert "Edit desk limits" in client.get("/risk/").content.decode()
    assert 'name="max_total_notional"' in client.get("/risk/limits/global/").content.decode()

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/risk/limits/global/", {
            "max_symbol_net_notional": "1000000", "max_total_notional": "3000000",
            "per_symbol_net_notional": "btcusdt=2e6, ETHUSDT = 500000"})

    html = response.content.decode()
    assert response.status_code == 200 and 'data-saved="1"' in html
    assert 'id="desk-limits" hx-swap-oob="true"' in html and "3,000,000" in html  # the panel shows the new values
    row = GlobalRiskLimit.objects.get(name="desk")
    assert (row.max_symbol_net_notional, row.max_total_notional) == (D(1000000), D(3000000))
    assert row.per_symbol_net_notional == {"BTCUSDT": "2000000", "ETHUSDT": "500000"}
    audit = AuditLog.objects.get(action="risk.global_limit_set")
    assert audit.actor_label == "sam" and audit.payload["max_total_notional"] == "3000000"
    assert risk_changes_notify in callbacks  # as for a sub-account's limits: NOTIFY wakes the engine's reload
    form = client.get("/risk/limits/global/").content.decode()
    assert 'value="3000000"' in form and "BTCUSDT=2000000, ETHUSDT=500000" in form


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"max_total_notional": "-5"}, "max_total_notional", "must be a positive amount (got -5)"),
    ({"max_symbol_net_notional": "0"}, "max_symbol_net_notional", "must be a positive amount (got 0)"),
    ({"max_total_notional": "lots"}, "max_total_notional", "Enter a number."),
    ({"per_symbol_net_notional": "NOPEUSDT=5"}, "per_symbol_net_notional", "unknown symbol(s): NOPEUSDT"),
    ({"per_symbol_net_notional": "BTCUSDT=-1"}, "per_symbol_net_notional", "must be positive amounts: BTCUSDT=-1"),
    ({"per_symbol_net_notional": "BTCUSDT 5"}, "per_symbol_net_notional", "write each as SYMBOL=amount"),
    ({"per_symbol_net_notional": "BTCUSDT=abc"}, "per_symbol_net_notional", "BTCUSDT: &#x27;abc&#x27; is not a number"),
])
def test_bad_desk_limits_are_shown_again_with_what_to_change_and_change_nothing(
        desk, client_for, form, field, message):  # noqa: F811
    GlobalRiskLimit.objects.create(name="desk", max_total_notional=D("5000000"))
    staff = User.objects.create_user("sam", password="sam-password-1", is_staff=True)

    response = client_for(staff).post("/risk/limits/global/", form)

    html = response.content.decode()
    assert response.status_code == 200 and 'data-saved="1"' not in html
    assert f'data-error="{field}"' in html and message in html
    assert GlobalRiskLimit.objects.get().max_total_notional == D("5000000")
    assert not AuditLog.objects.filter(action="risk.global_limit_set").exists()
