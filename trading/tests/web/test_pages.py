"""Pages: login required, scoped to grants (404 outside), launcher forms that say what to change."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from trading.models import AlgoRun, AuditLog, EngineCommand

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(desk) -> Client:
    client = Client()
    client.force_login(desk["ann"])
    return client


def test_pages_ask_for_a_login_first(desk, client):
    response = client.get("/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_logging_in_with_a_wrong_password_says_so_and_the_right_one_opens_the_desk(desk, client):
    wrong = client.post("/login/", {"username": "ann", "password": "nope"})
    right = client.post("/login/", {"username": "ann", "password": "ann-password-1"}, follow=True)

    assert b"did not match" in wrong.content
    assert right.request["PATH_INFO"] == "/"
    assert b'data-sub-account="alpha"' in right.content and b'data-sub-account="beta"' not in right.content


def test_a_sub_account_page_outside_the_grants_answers_404(desk, ann):
    assert ann.get(f"/accounts/{desk['alpha'].pk}/").status_code == 200
    assert ann.get(f"/accounts/{desk['beta'].pk}/").status_code == 404
    assert ann.post(f"/accounts/{desk['beta'].pk}/algos/chase/", {"symbol": "BTCUSDT"}).status_code == 404


def test_the_sub_account_page_has_every_panel_and_connects_its_socket(desk, ann):
    page = ann.get(f"/accounts/{desk['alpha'].pk}/").content.decode()

    for panel in ("summary", "positions", "orders", "algos", "fills", "ledger", "equity", "status"):
        assert f'id="panel-{panel}"' in page
    assert f'ws-connect="/ws/account/{desk["alpha"].pk}/"' in page
    assert '"X-CSRFToken"' in page


def test_a_chase_form_with_a_bad_quantity_shows_what_to_change_and_starts_nothing(desk, ann):
    url = f"/accounts/{desk['alpha'].pk}/algos/chase/"
    base = {"symbol": "BTCUSDT", "side": "buy", "stalk_mode": "maintain", "offset_ticks": "0", "max_distance_pct": "2"}

    missing = ann.post(url, {**base, "quantity": ""}).content.decode()
    off_step = ann.post(url, {**base, "quantity": "0.0105"}).content.decode()

    assert 'data-error="quantity"' in missing and "This field is required." in missing
    assert 'data-error="form"' in off_step and "not a multiple of the step size 0.001" in off_step
    assert not AlgoRun.objects.exists() and not EngineCommand.objects.exists()


def test_a_valid_chase_form_starts_the_algo_and_audits_it(desk, ann):
    response = ann.post(f"/accounts/{desk['alpha'].pk}/algos/chase/", {
        "symbol": "BTCUSDT", "side": "buy", "quantity": "0.010", "stalk_mode": "maintain", "offset_ticks": "0",
        "max_distance_pct": "2"})

    run = AlgoRun.objects.get()
    assert f'data-started="{run.pk}"'.encode() in response.content
    assert run.sub_account == desk["alpha"] and Decimal(run.parameters["quantity"]) == Decimal("0.01")
    assert AuditLog.objects.filter(action="algo_start", actor_label="ann").exists()


def test_stopping_an_algo_from_the_page_queues_a_stop_and_another_operator_gets_404(desk, ann, client_for):
    ann.post(f"/accounts/{desk['alpha'].pk}/algos/chase/", {
        "symbol": "BTCUSDT", "side": "buy", "quantity": "0.010", "stalk_mode": "maintain", "offset_ticks": "0",
        "max_distance_pct": "2"})
    run = AlgoRun.objects.get()
    bob = Client()
    bob.force_login(desk["bob"])

    assert bob.post(f"/algos/{run.pk}/stop/").status_code == 404
    assert b"stop sent" in ann.post(f"/algos/{run.pk}/stop/").content
    assert EngineCommand.objects.filter(kind="stop_algo").count() == 1


def test_the_other_pages_render(desk, ann):
    for url in ("/market/", "/risk/", "/events/"):
        assert ann.get(url).status_code == 200, url
    assert ann.get("/reconciliation/").status_code == 302  # staff only
