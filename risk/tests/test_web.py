"""The risk page and the risk figures on the desk and account pages."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User

from core.clock import SYSTEM_CLOCK
from risk.models import RiskLimit, TradingStateRecord
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
