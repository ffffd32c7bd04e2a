"""Starting algos: bad parameters are refused with what to change, and nothing is written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from algos.services import algo_run_record, algo_run_update, algo_start, algo_stop
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
