"""Writes: queued as engine commands, audited, refused with a reason (changing nothing), throttled, scoped."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from trading.models import AlgoRun, AuditLog, EngineCommand

D = Decimal
pytestmark = pytest.mark.django_db


def order(sub, **changes):
    return {"sub_account": sub.pk, "symbol": "BTCUSDT", "side": "buy", "quantity": "0.010", "price": "60000.1",
            **changes}


def test_an_order_is_queued_for_the_engine_and_audited(desk, client_for):
    response = client_for(desk["ann"]).post("/api/v1/orders/", order(desk["alpha"]), format="json")

    assert response.status_code == 202
    command = EngineCommand.objects.get(pk=response.json()["id"])
    assert command.kind == "place_order" and command.payload["price"] == "60000.1"
    assert command.payload["sub_account_id"] == desk["alpha"].pk
    audit = AuditLog.objects.get(action="order_place")
    assert audit.target_id == command.payload["client_order_id"] and audit.actor_label == "ann"


@pytest.mark.parametrize(("changes", "message"), [
    ({"quantity": "-1"}, "quantity: must be greater than 0"),
    ({"quantity": "abc"}, "quantity: A valid number is required."),
    ({"side": "long"}, "side: \"long\" is not a valid choice."),
    ({"symbol": "DOGEUSDT"}, "unknown symbol 'DOGEUSDT'"),
    ({"price": "1e400"}, "price: "),
])
def test_a_bad_order_says_what_to_change_and_changes_nothing(desk, client_for, changes, message):
    response = client_for(desk["ann"]).post("/api/v1/orders/", order(desk["alpha"], **changes), format="json")

    assert response.status_code in (400, 404)
    assert set(response.json()) == {"code", "message", "detail"}
    assert response.json()["message"].startswith(message)
    assert not EngineCommand.objects.exists()
    assert not AuditLog.objects.filter(action="order_place").exists()


def test_an_order_for_a_sub_account_not_granted_answers_404_and_queues_nothing(desk, client_for):
    response = client_for(desk["ann"]).post("/api/v1/orders/", order(desk["beta"]), format="json")

    assert response.status_code == 404
    assert not EngineCommand.objects.exists()


def test_a_cancel_is_scoped_to_the_orders_sub_account(desk, client_for):
    placed = client_for(desk["bob"]).post("/api/v1/orders/", order(desk["beta"]), format="json").json()
    from trading.tests.api.test_reads import make_order

    row = make_order(desk["beta"], 7)

    refused = client_for(desk["ann"]).post(f"/api/v1/orders/{row.client_order_id}/cancel/")
    accepted = client_for(desk["bob"]).post(f"/api/v1/orders/{row.client_order_id}/cancel/")

    assert refused.status_code == 404
    assert accepted.status_code == 202
    assert EngineCommand.objects.filter(kind="cancel_order").count() == 1
    assert client_for(desk["ann"]).get(f"/api/v1/commands/{placed['id']}/").status_code == 404
    assert client_for(desk["bob"]).get(f"/api/v1/commands/{placed['id']}/").json()["status"] == "pending"


def test_a_chase_starts_as_an_algo_run_with_an_engine_command(desk, client_for):
    body = {"sub_account": desk["alpha"].pk, "symbol": "BTCUSDT", "side": "buy", "quantity": "0.010"}

    response = client_for(desk["ann"]).post("/api/v1/algos/chase/", body, format="json")

    assert response.status_code == 202, response.json()
    run = AlgoRun.objects.get(pk=response.json()["id"])
    assert run.kind == "chase" and run.parameters["quantity"] == "0.01"
    assert response.json()["filled_quantity"] == "0"
    assert EngineCommand.objects.filter(kind="start_algo").count() == 1
    assert AuditLog.objects.filter(action="algo_start", target_id=str(run.pk)).exists()


def test_a_chase_off_the_step_size_is_refused_with_the_rule_and_nothing_starts(desk, client_for):
    body = {"sub_account": desk["alpha"].pk, "symbol": "BTCUSDT", "side": "buy", "quantity": "0.0105"}

    response = client_for(desk["ann"]).post("/api/v1/algos/chase/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameters"
    assert "step size 0.001" in response.json()["message"]
    assert not AlgoRun.objects.exists() and not EngineCommand.objects.exists()


def test_stopping_another_operators_algo_answers_404(desk, client_for):
    run = client_for(desk["bob"]).post("/api/v1/algos/chase/", {
        "sub_account": desk["beta"].pk, "symbol": "BTCUSDT", "side": "sell", "quantity": "0.010"}, format="json").json()

    refused = client_for(desk["ann"]).post(f"/api/v1/algos/{run['id']}/stop/")
    stopped = client_for(desk["bob"]).post(f"/api/v1/algos/{run['id']}/stop/")

    assert refused.status_code == 404
    assert stopped.status_code == 202
    assert EngineCommand.objects.filter(kind="stop_algo").count() == 1


def test_pause_and_resume_go_to_the_algo_service_which_refuses_a_run_not_yet_running(desk, client_for):
    client = client_for(desk["ann"])
    run = client.post("/api/v1/algos/chase/", {
        "sub_account": desk["alpha"].pk, "symbol": "BTCUSDT", "side": "buy", "quantity": "0.010"}, format="json").json()

    early = client.post(f"/api/v1/algos/{run['id']}/pause/")
    AlgoRun.objects.filter(pk=run["id"]).update(status=AlgoRun.Status.RUNNING)  # as the engine would
    paused = client.post(f"/api/v1/algos/{run['id']}/pause/")
    foreign = client_for(desk["bob"]).post(f"/api/v1/algos/{run['id']}/resume/")

    assert early.status_code == 400 and early.json()["code"] == "invalid_state"
    assert paused.status_code == 202
    assert EngineCommand.objects.get(pk=paused.json()["id"]).kind == "pause_algo"
    assert foreign.status_code == 404


@override_settings(PMS_API_WRITE_RATE="2/min")
def test_writes_beyond_the_rate_are_throttled_and_reads_are_not(desk, client_for):
    client = client_for(desk["ann"])
    statuses = [client.post("/api/v1/orders/", order(desk["alpha"]), format="json").status_code for _ in range(3)]

    assert statuses == [202, 202, 429]
    assert client.post("/api/v1/orders/", order(desk["alpha"]), format="json").json()["code"] == "throttled"
    assert client.get("/api/v1/sub-accounts/").status_code == 200
    assert EngineCommand.objects.count() == 2
