"""The risk admin as ops use it (Django test client, staff user): bad limits refused with a message, nothing saved."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from risk.models import GlobalRiskLimit, RiskLimit, TradingStateRecord
from trading.models import AuditLog

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db: None) -> Client:
    user = get_user_model().objects.create_user("ops", password="pw-for-tests-only", is_staff=True,
                                                is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


def limit_form(sub_account_id: int, **values: str) -> dict[str, str]:
    form = {"sub_account": str(sub_account_id), "allowed_symbols": "[]"}
    form.update(values)
    return form


@pytest.mark.parametrize(("values", "message"), [
    ({"max_position_notional": "-5"}, "must be a positive amount"),
    ({"max_daily_loss": "0"}, "must be a positive amount"),
    ({"max_position_notional": "9000", "max_total_notional": "1000"}, "above the max total notional"),
    ({"allowed_symbols": '["BTCUSDT", "NOPEUSDT"]'}, "unknown symbol(s): NOPEUSDT"),
    ({"price_band_pct": "75"}, "at most 50"),
])
def test_bad_limit_values_are_refused_with_a_message_and_nothing_is_saved(staff_client, instruments,
                                                                           make_sub_account, values, message):
    sub = make_sub_account()

    response = staff_client.post("/admin/risk/risklimit/add/", limit_form(sub.pk, **values))

    assert response.status_code == 200  # the form again, not a redirect
    assert message in response.content.decode()
    assert not RiskLimit.objects.exists() and not AuditLog.objects.exists()


def test_good_limits_are_saved_normalised_and_audited(staff_client, instruments, make_sub_account):
    sub = make_sub_account()

    response = staff_client.post("/admin/risk/risklimit/add/", limit_form(
        sub.pk, max_position_notional="50000", max_total_notional="100000", allowed_symbols='["btcusdt"]'))

    assert response.status_code == 302
    row = RiskLimit.objects.get(sub_account=sub)
    assert (row.max_position_notional, row.allowed_symbols) == (D(50000), ["BTCUSDT"])
    assert AuditLog.objects.filter(action="risk.limit_set", target_id=str(sub.pk)).exists()


def test_an_unknown_symbol_in_the_global_limits_is_refused(staff_client, instruments):
    response = staff_client.post("/admin/risk/globalrisklimit/add/", {
        "name": "desk", "max_symbol_net_notional": "1000000", "per_symbol_net_notional": '{"NOPEUSDT": "5"}'})

    assert response.status_code == 200
    assert "NOPEUSDT" in response.content.decode()
    assert not GlobalRiskLimit.objects.exists()


def test_a_manual_trip_without_a_reason_is_refused_and_with_one_is_audited(staff_client, make_sub_account):
    sub = make_sub_account()
    form = {"scope_kind": "sub_account", "scope_key": str(sub.pk), "state": "halted", "reason": "   "}

    refused = staff_client.post("/admin/risk/tradingstaterecord/add/", form)
    assert refused.status_code == 200 and "say why the trading state changes" in refused.content.decode()
    assert not TradingStateRecord.objects.exists()

    accepted = staff_client.post("/admin/risk/tradingstaterecord/add/", {**form, "reason": "runaway strategy"})
    assert accepted.status_code == 302
    assert TradingStateRecord.objects.get().state == "halted"
    assert AuditLog.objects.filter(action="risk.state_halted", actor_label="ops").exists()


@pytest.mark.parametrize("model", ["risklimit", "globalrisklimit", "tradingstaterecord", "breachrecord", "adlaction",
                                   "leveragebrackettable", "equitystate", "markhistory"])
def test_every_risk_changelist_renders_for_staff(staff_client, model):
    assert staff_client.get(f"/admin/risk/{model}/").status_code == 200
