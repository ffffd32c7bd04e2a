"""Starting a strategy instance: parameters checked against the registry, clear errors, nothing written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from algos.services import algo_run_record, algo_start
from core.errors import AppError
from trading.models import AlgoRun, EngineCommand
from trading.services import subaccount_deposit

D = Decimal


@pytest.mark.django_db
def test_a_strategy_run_is_recorded_with_its_symbols_parameters_and_starting_equity(instruments, make_sub_account):
    sub = make_sub_account()
    subaccount_deposit(sub_account_id=sub.pk, amount=D("2500"), actor="ops")
    run = algo_start(kind="strategy", sub_account_id=sub.pk, actor="ops",
                     params={"strategy": "correlation_breaker", "symbols": "btcusdt, ethusdt",
                             "parameters": {"quantity": "0.1"}})
    record = algo_run_record(run.pk)
    assert record is not None and record.kind == "strategy" and run.kind == "strategy"
    assert record.parameters == {"strategy": "correlation_breaker", "symbols": ["BTCUSDT", "ETHUSDT"],
                                 "parameters": {"quantity": "0.1"}, "equity": "2500.000000000000000000"}
    assert EngineCommand.objects.get().payload == {"algo_run_id": run.pk}


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "message"), [
    ({"strategy": "nope", "symbols": "BTCUSDT"}, "unknown strategy 'nope'; registered: "),
    ({"strategy": "runaway", "symbols": "DOGEUSDT"}, "unknown symbol"),
    ({"strategy": "runaway"}, "symbols is required"),
    ({"strategy": "correlation_breaker", "symbols": "BTCUSDT"}, "needs two symbols"),
    ({"strategy": "runaway", "symbols": "BTCUSDT", "budget_ms": 0}, "budget_ms must be within 1..10000"),
    ({"strategy": "runaway", "symbols": "BTCUSDT", "parameters": "{oops"}, "parameters must be a JSON object"),
])
def test_bad_strategy_parameters_are_refused_and_nothing_is_written(instruments, make_sub_account, params, message):
    sub = make_sub_account()
    with pytest.raises(AppError, match=message):
        algo_start(kind="strategy", sub_account_id=sub.pk, params=params, actor="ops")
    assert not AlgoRun.objects.exists() and not EngineCommand.objects.exists()
