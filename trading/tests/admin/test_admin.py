"""The admin: staff-only, history read-only, amounts shown with their asset."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from trading.domain.types import Side
from trading.services import FillReport, fill_book, subaccount_deposit

D = Decimal


@pytest.fixture
def staff_client(db: None) -> Client:
    user = get_user_model().objects.create_user("ops", password="pw-for-tests-only", is_staff=True,
                                                is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def booked(make_sub_account, instruments):
    sub = make_sub_account()
    subaccount_deposit(sub_account_id=sub.pk, amount=D("1000"), actor="ops")
    fill_book(report=FillReport(trade_key="BTCUSDT:77", sub_account_id=sub.pk, symbol="BTCUSDT", side=Side.BUY,
                                price=D("60000"), quantity=D("0.01"), fee=D("0.24"), client_order_id="PMSabc_x",
                                executed_at=datetime(2026, 1, 1, tzinfo=UTC)), publish=lambda *args: None)
    return sub


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["subaccount", "instrument", "order", "fill", "virtualposition",
                                   "exchangeposition", "ledgerentry", "algorun", "auditlog"])
def test_every_changelist_renders_for_staff(staff_client, booked, model):
    response = staff_client.get(f"/admin/trading/{model}/")
    assert response.status_code == 200


@pytest.mark.django_db
def test_the_fill_list_is_searchable_by_client_order_id_and_shows_fee_with_its_asset(staff_client, booked):
    response = staff_client.get("/admin/trading/fill/", {"q": "PMSabc_x"})
    assert b"BTCUSDT:77" in response.content
    assert b"0.24 USDT" in response.content


@pytest.mark.django_db
def test_the_sub_account_list_shows_the_balance_with_its_asset(staff_client, booked):
    response = staff_client.get("/admin/trading/subaccount/")
    assert b"999.76 USDT" in response.content  # 1000 deposit - 0.24 fee


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["fill", "order", "ledgerentry", "virtualposition", "auditlog"])
def test_history_cannot_be_added_from_the_admin(staff_client, booked, model):
    assert staff_client.get(f"/admin/trading/{model}/add/").status_code == 403


@pytest.mark.django_db
def test_a_fill_cannot_be_edited_or_deleted_from_the_admin(staff_client, booked):
    from trading.models import Fill

    fill = Fill.objects.get()
    response = staff_client.post(f"/admin/trading/fill/{fill.pk}/change/", {"price": "1"})
    assert response.status_code == 403
    assert staff_client.post(f"/admin/trading/fill/{fill.pk}/delete/", {"post": "yes"}).status_code == 403
    fill.refresh_from_db()
    assert fill.price == D("60000")


@pytest.mark.django_db
def test_a_non_staff_user_is_sent_to_the_login_page(db, booked):
    user = get_user_model().objects.create_user("trader", password="pw-for-tests-only")
    client = Client()
    client.force_login(user)
    response = client.get("/admin/trading/fill/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_health_and_readiness_probes_answer(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "ok"
