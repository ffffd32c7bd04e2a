"""Strategy instances in the admin as ops use them (Django test client, staff): bad configurations refused with
what to change and nothing saved; enabling starts a run through the engine, disabling stops it; all audited."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from algos.models import StrategyInstance
from trading.models import AlgoRun, AuditLog, EngineCommand

pytestmark = pytest.mark.django_db
ADD = "/admin/algos/strategyinstance/add/"
LIST = "/admin/algos/strategyinstance/"


@pytest.fixture
def staff_client(db: None) -> Client:
    user = get_user_model().objects.create_user("ops", password="pw-for-tests-only", is_staff=True,
                                                is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


def instance_form(sub_account_id: int, **values: str) -> dict[str, str]:
    form = {"name": "leak-1", "strategy": "slow_leak", "symbols": "btcusdt", "parameters": '{"quantity": "0.002"}',
            "sub_account": str(sub_account_id)}
    form.update(values)
    return form


def commands(kind: str) -> list[EngineCommand]:
    return list(EngineCommand.objects.filter(kind=kind).order_by("created_at"))


@pytest.mark.parametrize(("values", "message"), [
    ({"strategy": "correlation_breaker"}, "needs two symbols"),
    ({"symbols": "DOGEUSDT"}, "unknown symbol(s) DOGEUSDT"),
    ({"parameters": '{"quantity": "-1"}'}, "quantity must be a positive number"),
    ({"parameters": "[1, 2]"}, "parameters must be a JSON object"),
    ({"strategy": "uploaded_code"}, "Select a valid choice"),
])
def test_a_bad_configuration_is_refused_with_what_to_change_and_nothing_is_saved(staff_client, instruments,
                                                                                   make_sub_account, values, message):
    sub = make_sub_account()

    response = staff_client.post(ADD, instance_form(sub.pk, enabled="on", **values))

    assert response.status_code == 200  # the form again, not a redirect
    assert message in response.content.decode()
    assert not StrategyInstance.objects.exists() and not AlgoRun.objects.exists()
    assert not EngineCommand.objects.exists() and not AuditLog.objects.exists()


def test_a_disabled_instance_is_saved_normalised_and_audited_without_starting(staff_client, instruments,
                                                                             make_sub_account):
    sub = make_sub_account()

    response = staff_client.post(ADD, instance_form(sub.pk, symbols=" btcusdt , ethusdt"))

    assert response.status_code == 302
    instance = StrategyInstance.objects.get()
    assert (instance.symbols, instance.enabled, instance.algo_run) == ("BTCUSDT,ETHUSDT", False, None)
    assert not AlgoRun.objects.exists() and not EngineCommand.objects.exists()
    assert AuditLog.objects.get(action="strategy_instance_save").actor_label == "ops"


def test_enabling_starts_the_strategy_through_the_engine_and_disabling_stops_it(staff_client, instruments,
                                                                               make_sub_account):
    sub = make_sub_account()
    staff_client.post(ADD, instance_form(sub.pk))
    instance = StrategyInstance.objects.get()

    staff_client.post(LIST, {"action": "enable", "_selected_action": [str(instance.pk)]})

    instance.refresh_from_db()
    run = AlgoRun.objects.get()
    assert instance.enabled and instance.algo_run == run
    assert (run.kind, run.sub_account_id, run.parameters["strategy"]) == ("strategy", sub.pk, "slow_leak")
    assert [c.payload for c in commands("start_algo")] == [{"algo_run_id": run.pk}]

    staff_client.post(LIST, {"action": "disable", "_selected_action": [str(instance.pk)]})

    instance.refresh_from_db()
    assert not instance.enabled and instance.algo_run is None
    assert [c.payload for c in commands("stop_algo")] == [{"algo_run_id": run.pk}]
    actions = list(AuditLog.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["strategy_instance_save", "algo_start", "strategy_instance_enable", "algo_stop",
                       "strategy_instance_disable"]


def test_changing_what_an_enabled_instance_runs_restarts_it_with_the_new_parameters(staff_client, instruments,
                                                                                     make_sub_account):
    sub = make_sub_account()
    staff_client.post(ADD, instance_form(sub.pk, enabled="on"))
    instance = StrategyInstance.objects.get()
    first = instance.algo_run
    assert first is not None

    response = staff_client.post(f"{LIST}{instance.pk}/change/",
                                 instance_form(sub.pk, enabled="on", parameters='{"quantity": "0.004"}'))

    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.algo_run is not None and instance.algo_run != first
    assert instance.algo_run.parameters["parameters"] == {"quantity": "0.004"}
    assert [c.payload for c in commands("stop_algo")] == [{"algo_run_id": first.pk}]
    assert len(commands("start_algo")) == 2


def test_an_enable_the_engine_would_refuse_says_why_and_leaves_the_instance_disabled(staff_client, instruments,
                                                                                     make_sub_account):
    from trading.models import SubAccount

    sub = make_sub_account()
    staff_client.post(ADD, instance_form(sub.pk))
    instance = StrategyInstance.objects.get()
    SubAccount.objects.filter(pk=sub.pk).update(status=SubAccount.Status.FROZEN)

    response = staff_client.post(LIST, {"action": "enable", "_selected_action": [str(instance.pk)]}, follow=True)

    assert "Leak-1 not enabled: sub-account alpha is frozen: algos cannot start" in response.content.decode()
    instance.refresh_from_db()
    assert not instance.enabled and not AlgoRun.objects.exists()
