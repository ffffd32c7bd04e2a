"""Reads: scoped to the caller's grants, paginated, filterable, decimals as strings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from trading.models import Fill, Order, VirtualPosition

D = Decimal
pytestmark = pytest.mark.django_db


def make_order(sub, n: int, status: str = "new", symbol: str = "BTCUSDT") -> Order:
    now = timezone.now()
    return Order.objects.create(client_order_id=f"PMS{sub.code}_LMT_{n}", sub_account=sub, symbol=symbol, side="buy",
                                order_type="limit", price=D("60000.10"), quantity=D("0.010"), status=status,
                                origin="LMT", created_at=now, updated_at=now)


def test_an_operator_lists_only_the_sub_accounts_granted_to_them(desk, client_for):
    response = client_for(desk["ann"]).get("/api/v1/sub-accounts/")

    assert response.status_code == 200
    assert [row["name"] for row in response.json()] == ["alpha", "gamma"]
    assert response.json()[0]["balance"] == "10000"
    assert response.json()[0]["trading_state"] == "ACTIVE"


@pytest.mark.parametrize("suffix", ["", "positions/", "orders/", "fills/", "ledger/"])
def test_a_sub_account_not_granted_answers_404_like_one_that_does_not_exist(desk, client_for, suffix):
    client = client_for(desk["ann"])

    foreign = client.get(f"/api/v1/sub-accounts/{desk['beta'].pk}/{suffix}")
    missing = client.get(f"/api/v1/sub-accounts/999999/{suffix}")

    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == "not_found"
    assert set(foreign.json()) == {"code", "message", "detail"}


def test_positions_carry_decimals_as_strings_without_float_noise(desk, client_for):
    VirtualPosition.objects.create(sub_account=desk["alpha"], symbol="BTCUSDT", quantity=D("0.015"),
                                   average_entry=D("60000.1"), realized_pnl=D("1.5"), fees=D("0.12"),
                                   updated_at=timezone.now())

    rows = client_for(desk["ann"]).get(f"/api/v1/sub-accounts/{desk['alpha'].pk}/positions/").json()

    assert rows[0]["quantity"] == "0.015"
    assert rows[0]["average_entry"] == "60000.1"
    assert rows[0]["realized_pnl"] == "1.5"


def test_orders_are_paginated_and_filtered(desk, client_for):
    for n in range(5):
        make_order(desk["alpha"], n, status="new" if n < 3 else "filled")
    client = client_for(desk["ann"])
    base = f"/api/v1/sub-accounts/{desk['alpha'].pk}/orders/"

    first = client.get(base, {"page_size": 2}).json()
    filled = client.get(base, {"status": "filled"}).json()
    open_orders = client.get(base, {"open": "true"}).json()

    assert first["count"] == 5 and len(first["results"]) == 2 and first["next"]
    assert first["results"][0]["price"] == "60000.1" and first["results"][0]["quantity"] == "0.01"
    assert filled["count"] == 2
    assert open_orders["count"] == 3


def test_a_page_past_the_end_answers_404_in_the_error_shape(desk, client_for):
    response = client_for(desk["ann"]).get(f"/api/v1/sub-accounts/{desk['alpha'].pk}/orders/", {"page": 9})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_fills_and_ledger_list_only_this_sub_account(desk, client_for):
    order = make_order(desk["alpha"], 1)
    Fill.objects.create(trade_key="BTCUSDT:1", order=order, sub_account=desk["alpha"], symbol="BTCUSDT", side="buy",
                        price=D("60000"), quantity=D("0.01"), fee=D("0.24"), executed_at=timezone.now(),
                        booked_at=timezone.now())
    client = client_for(desk["ann"])

    fills = client.get(f"/api/v1/sub-accounts/{desk['alpha'].pk}/fills/").json()
    gamma_fills = client.get(f"/api/v1/sub-accounts/{desk['gamma'].pk}/fills/").json()
    ledger = client.get(f"/api/v1/sub-accounts/{desk['alpha'].pk}/ledger/", {"kind": "deposit"}).json()

    assert [row["trade_key"] for row in fills["results"]] == ["BTCUSDT:1"]
    assert fills["results"][0]["fee"] == "0.24"
    assert gamma_fills["count"] == 0
    assert [row["amount"] for row in ledger["results"]] == ["10000"]


def test_without_credentials_every_endpoint_answers_401(desk, client):
    response = client.get("/api/v1/sub-accounts/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_schema_and_its_docs_page_are_served_without_outside_resources(desk, client_for):
    client = client_for(desk["ann"])

    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/v1/docs/")

    assert schema.status_code == 200
    assert "/api/v1/orders/" in schema.json()["paths"]
    assert docs.status_code == 200
    assert b"/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.content
    assert b"cdn." not in docs.content
