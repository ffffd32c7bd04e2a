"""Starting algos: bad parameters are refused with what to change, and nothing is written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from algos.services import (
    algo_pause,
    algo_resume,
    algo_run_record,
    algo_run_update,
    algo_runs_to_resume,
    algo_start,
    algo_stop,
)
from core.errors import AppError, NotFound
from trading.models import AlgoRun, AuditLog, EngineCommand

D = Decimal
CHASE = {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.010"}


@pytest.mark.django_db
def test_a_valid_chase_is_recorded_and_queued_for_the_engine_with_an_audit_entry(instruments, make_sub_account):
    sub = make_sub_account()
    run = algo_start(kind="chase", sub_account_id=sub.pk, params=CHASE, actor="ops", reference_price=D("60000"))
    command = EngineCommand.objects.get()
    assert (run.status, run.kind, command.kind, command.payload) == ("pending", "chase", "start_algo",
                                                                      {"algo_run_id": run.pk})
    assert AuditLog.objects.get().action == "algo_start"
    record = algo_run_record(run.pk)
    assert record is not None and record.kind == "chase" and record.parameters["symbol"] == "BTCUSDT"


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "params", "message"), [
    ("chase", {**CHASE, "symbol": "DOGEUSDT"}, "unknown symbol"),
    ("chase", {**CHASE, "quantity": "0"}, "quantity must be positive"),
    ("chase", {**CHASE, "quantity": "-1"}, "quantity must be positive"),
    ("chase", {**CHASE, "quantity": "0.001"}, "below the minimum order value 100"),
    ("chase", {**CHASE, "stalk_mode": "hunt"}, "stalk_mode must be none, maintain or trail"),
    ("chase", {**CHASE, "offset_ticks": 5000}, "offset_ticks must be within 0..1000"),
    ("chase", {**CHASE, "max_distance_pct": "80"}, "max_distance_pct must be within"),
    ("twap", {**CHASE, "quantity": "0.010", "lots": 0}, "lots must be within 1..1000"),
    ("twap", {**CHASE, "quantity": "0.0105"}, "not a multiple of the step size"),
    ("trail_stop", {"symbol": "BTCUSDT", "trail_pct": "1"}, "has none in this symbol"),
    ("scalper", {**CHASE, "base_offset": "0"}, "base_offset must be within"),
    ("scalper", {**CHASE, "base_offset": "20", "max_spread": "10"}, "must be at least base_offset"),
    ("scalper", {**CHASE, "skew": "2"}, "skew must be within"),
    ("scalper", {**CHASE, "layer_count": 11}, "layer_count must be within 1..10"),
    ("scalper", {**CHASE, "sides": "up"}, "sides must be both, long or short"),
    ("scalper", {**CHASE, "max_loss_bps": "-1"}, "max_loss_bps must be within"),
    ("basket", {"legs": []}, "a basket needs `legs`"),
    ("basket", {"legs": [CHASE, CHASE]}, "each symbol once"),
    ("basket", {"legs": [{**CHASE, "symbol": "DOGEUSDT"}]}, "unknown symbol 'DOGEUSDT' in the basket"),
    ("basket", {"legs": [{**CHASE, "quantity": "0.0105"}]}, "BTCUSDT: quantity 0.0105 is not a multiple"),
    ("martingale", CHASE, "unknown algo"),
])
def test_bad_algo_parameters_are_refused_and_nothing_is_written(instruments, make_sub_account, kind, params,
                                                                 message):
    sub = make_sub_account()
    with pytest.raises(AppError, match=message):
        algo_start(kind=kind, sub_account_id=sub.pk, params=params, actor="ops", reference_price=D("60000"))
    assert AlgoRun.objects.count() == 0 and EngineCommand.objects.count() == 0 and AuditLog.objects.count() == 0


@pytest.mark.django_db
def test_an_algo_for_a_frozen_sub_account_is_refused(instruments, make_sub_account):
    sub = make_sub_account(status="frozen")
    with pytest.raises(AppError, match="frozen"):
        algo_start(kind="chase", sub_account_id=sub.pk, params=CHASE, actor="ops", reference_price=D("60000"))
    assert AlgoRun.objects.count() == 0


@pytest.mark.django_db
def test_stopping_queues_a_command_and_the_engine_records_the_end(instruments, make_sub_account):
    sub = make_sub_account()
    run = algo_start(kind="chase", sub_account_id=sub.pk, params=CHASE, actor="ops", reference_price=D("60000"))
    algo_stop(algo_run_id=run.pk, actor="ops")
    algo_run_update(run.pk, "cancelled", {"outcome": "cancelled: stopped by operator"})
    run.refresh_from_db()
    assert run.status == "cancelled" and run.ended_at is not None
    assert EngineCommand.objects.filter(kind="stop_algo").count() == 1
    with pytest.raises(NotFound):
        algo_stop(algo_run_id=987654, actor="ops")


@pytest.mark.django_db
def test_a_twap_without_a_known_price_is_checked_for_what_needs_no_price(instruments, make_sub_account,
                                                                          monkeypatch):
    import algos.services

    monkeypatch.setattr(algos.services, "cached_reference_price", lambda **kwargs: None)
    sub = make_sub_account()
    run = algo_start(kind="twap", sub_account_id=sub.pk, params={**CHASE, "quantity": "0.050", "lots": 5},
                     actor="ops")
    assert run.kind == "twap"
    with pytest.raises(AppError, match="lots must be within"):
        algo_start(kind="twap", sub_account_id=sub.pk, params={**CHASE, "lots": 0}, actor="ops")


@pytest.mark.django_db
def test_pause_and_resume_follow_the_run_state_and_are_audited(instruments, make_sub_account):
    sub = make_sub_account()
    run = algo_start(kind="scalper", sub_account_id=sub.pk, params={**CHASE, "quantity": "0.030"}, actor="ops",
                     reference_price=D("60000"))
    with pytest.raises(AppError, match="only a running run can pause"):
        algo_pause(algo_run_id=run.pk, actor="ops")  # still pending
    algo_run_update(run.pk, "running", {})
    algo_pause(algo_run_id=run.pk, actor="ops")
    with pytest.raises(AppError, match="only a paused run can resume"):
        algo_resume(algo_run_id=run.pk, actor="ops")  # the engine has not paused it yet
    algo_run_update(run.pk, "paused", {})
    assert [record.algo_run_id for record in algo_runs_to_resume()] == [run.pk]  # a paused run resumes, paused
    algo_resume(algo_run_id=run.pk, actor="ops")
    assert list(EngineCommand.objects.order_by("created_at").values_list("kind", flat=True)) == [
        "start_algo", "pause_algo", "resume_algo"]
    assert list(AuditLog.objects.order_by("pk").values_list("action", flat=True)) == [
        "algo_start", "algo_pause", "algo_resume"]
    with pytest.raises(NotFound):
        algo_resume(algo_run_id=987654, actor="ops")


@pytest.mark.django_db
@pytest.mark.parametrize("verb", ["stop", "pause", "resume"])
def test_the_algo_commands_say_what_is_wrong_and_queue_nothing(instruments, make_sub_account, verb):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="algo run 987654 does not exist"):
        call_command(f"{verb}_algo", "--id", "987654")
    sub = make_sub_account()
    run = algo_start(kind="chase", sub_account_id=sub.pk, params=CHASE, actor="ops", reference_price=D("60000"))
    if verb != "stop":  # a pending run can be stopped, not paused or resumed
        with pytest.raises(CommandError, match="is pending; only a"):
            call_command(f"{verb}_algo", "--id", str(run.pk))
        assert EngineCommand.objects.filter(kind=f"{verb}_algo").count() == 0
