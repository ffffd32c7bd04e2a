"""Starting and stopping algos: validated AlgoRun rows plus engine commands, audited, all or nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from algos.domain.params import (
    KINDS,
    ParamError,
    basket_legs,
    chase_params,
    scalper_spec,
    strategy_params,
    trail_params,
    twap_basket_basic,
    twap_basket_spec,
    twap_params_basic,
    twap_spec,
)
from algos.engine import RunRecord
from algos.strategies.runtime.registry import StrategyError, StrategyRegistry
from core.clock import SYSTEM_CLOCK, Clock
from core.errors import AppError, NotFound
from trading.models import AlgoRun, EngineCommand, Instrument, Order, SubAccount, VirtualPosition
from trading.selectors import cached_reference_price, subaccount_balance
from trading.services.audit import audit_record
from trading.services.commands import notify_engine

RUN_KIND = {"chase": AlgoRun.Kind.CHASE, "scalper": AlgoRun.Kind.SCALPER, "twap": AlgoRun.Kind.TWAP,
            "trail_stop": AlgoRun.Kind.TRAIL_STOP, "strategy": AlgoRun.Kind.STRATEGY, "basket": AlgoRun.Kind.BASKET}
LIVE_STATUSES = (AlgoRun.Status.RUNNING, AlgoRun.Status.PAUSED)


def _validate(kind: str, sub_account: SubAccount, params: dict[str, Any], reference_price: Decimal | None) -> None:
    symbol = str(params.get("symbol", "")).upper()
    instrument = Instrument.objects.filter(symbol=symbol, status=Instrument.Status.TRADING).first()
    if instrument is None:
        raise NotFound(f"unknown symbol {symbol!r}")
    rules = instrument.to_domain()
    try:
        if kind == "chase":
            chase_params(params, rules, reference_price)
        elif kind == "scalper":
            scalper_spec(params, rules, reference_price)
        elif kind == "twap" and reference_price is not None:
            twap_spec(params, rules, reference_price, 0, 0)
        elif kind == "twap":  # no price known here: the engine sizes the lots when it starts the run
            twap_params_basic(params, rules)
        else:
            position = VirtualPosition.objects.filter(sub_account=sub_account, symbol=symbol).first()
            trail_params(params, position.quantity if position else Decimal(0))
    except ParamError as exc:
        raise AppError(str(exc), code="invalid_parameters") from None


def basket_validate(params: dict[str, Any]) -> dict[str, Any]:
    """Each leg on a trading symbol, with a side and a quantity on its grid; sized by price when one is cached."""
    try:
        legs = basket_legs(params)
        symbols = [leg["symbol"] for leg in legs]
        rules = {row.symbol: row.to_domain() for row in
                 Instrument.objects.filter(symbol__in=symbols, status=Instrument.Status.TRADING)}
        prices = {symbol: cached_reference_price(symbol=symbol) for symbol in symbols}
        if all(price is not None for price in prices.values()):
            twap_basket_spec(params, rules, prices, 0, 0)
        else:  # the engine sizes the lots with its own prices when it starts the run
            twap_basket_basic(params, rules)
    except ParamError as exc:
        raise AppError(str(exc), code="invalid_parameters") from None
    return {**params, "legs": [dict(leg) for leg in legs], "symbol": symbols[0]}


@cache
def strategy_registry() -> StrategyRegistry:
    """Strategies from code and from the files in PMS_STRATEGY_DIRS (re-read on every lookup)."""
    return StrategyRegistry(dirs=settings.PMS_STRATEGY_DIRS)


def strategy_validate(*, sub_account_id: int, params: dict[str, Any]) -> dict[str, Any]:
    """A strategy instance's parameters, checked (symbols, limits, the strategy's own refusal) and completed
    with the equity its metrics start from (the sub-account's balance unless given)."""
    known = set(Instrument.objects.filter(status=Instrument.Status.TRADING).values_list("symbol", flat=True))
    try:
        spec = strategy_params(params, known)
        strategy_registry().create(spec.name, spec.symbols, spec.parameters)
    except (ParamError, StrategyError) as exc:
        raise AppError(str(exc), code="invalid_parameters") from None
    clean = {**params, "strategy": spec.name, "symbols": list(spec.symbols), "parameters": spec.parameters}
    clean.pop("symbol", None)
    if spec.equity is None:
        clean["equity"] = str(subaccount_balance(sub_account_id=sub_account_id))
    return clean


def algo_start(*, kind: str, sub_account_id: int, params: dict[str, Any], actor: str,
               reference_price: Decimal | None = None, clock: Clock = SYSTEM_CLOCK) -> AlgoRun:
    """Refuse bad parameters with what to change; otherwise queue the start for the engine."""
    if kind not in KINDS:
        raise AppError(f"unknown algo {kind!r}; expected one of {', '.join(KINDS)}")
    sub_account = SubAccount.objects.filter(pk=sub_account_id).first()
    if sub_account is None:
        raise NotFound(f"sub-account {sub_account_id} does not exist")
    if sub_account.status != SubAccount.Status.ACTIVE:
        raise AppError(f"sub-account {sub_account.name} is {sub_account.status}: algos cannot start")
    if kind == "strategy":
        clean = strategy_validate(sub_account_id=sub_account.pk, params=params)
    elif kind == "basket":
        clean = basket_validate(params)
    else:
        clean = {**params, "symbol": str(params.get("symbol", "")).upper()}
        if reference_price is None:
            reference_price = cached_reference_price(symbol=clean["symbol"])
        _validate(kind, sub_account, clean, reference_price)
    with transaction.atomic():
        run = AlgoRun.objects.create(kind=RUN_KIND[kind], sub_account=sub_account, parameters=clean)
        command = EngineCommand.objects.create(id=uuid.uuid4(), kind="start_algo", payload={"algo_run_id": run.pk},
                                               actor_label=actor, created_at=clock.now())
        audit_record(actor=actor, action="algo_start", target_type="algo_run", target_id=run.pk,
                     payload={"kind": kind, **clean}, clock=clock)
        transaction.on_commit(lambda: notify_engine(command.pk))
    return run


def algo_stop(*, algo_run_id: int, actor: str, clock: Clock = SYSTEM_CLOCK) -> EngineCommand:
    return _algo_command("stop_algo", algo_run_id=algo_run_id, actor=actor, clock=clock)


def algo_pause(*, algo_run_id: int, actor: str, clock: Clock = SYSTEM_CLOCK) -> EngineCommand:
    """Working orders are cancelled and the state kept; `algo_resume` continues from it."""
    return _algo_command("pause_algo", algo_run_id=algo_run_id, actor=actor, clock=clock,
                         allowed=(AlgoRun.Status.RUNNING,))


def algo_resume(*, algo_run_id: int, actor: str, clock: Clock = SYSTEM_CLOCK) -> EngineCommand:
    return _algo_command("resume_algo", algo_run_id=algo_run_id, actor=actor, clock=clock,
                         allowed=(AlgoRun.Status.PAUSED,))


def _algo_command(kind: str, *, algo_run_id: int, actor: str, clock: Clock,
                  allowed: tuple[str, ...] = (AlgoRun.Status.PENDING, *LIVE_STATUSES)) -> EngineCommand:
    run = AlgoRun.objects.filter(pk=algo_run_id).first()
    if run is None:
        raise NotFound(f"algo run {algo_run_id} does not exist")
    if run.status not in allowed:
        verb = kind.removesuffix("_algo")
        raise AppError(f"algo run {algo_run_id} is {run.status}; only a {' or '.join(allowed)} run can {verb}",
                       code="invalid_state")
    with transaction.atomic():
        command = EngineCommand.objects.create(id=uuid.uuid4(), kind=kind, payload={"algo_run_id": run.pk},
                                               actor_label=actor, created_at=clock.now())
        audit_record(actor=actor, action=f"algo_{kind.removesuffix('_algo')}", target_type="algo_run",
                     target_id=run.pk, clock=clock)
        transaction.on_commit(lambda: notify_engine(command.pk))
    return command


def algo_run_record(algo_run_id: int) -> RunRecord | None:
    run = AlgoRun.objects.filter(pk=algo_run_id).first()
    if run is None:
        return None
    kind = {str(value): key for key, value in RUN_KIND.items()}.get(str(run.kind), str(run.kind))
    return RunRecord(run.pk, kind, run.sub_account_id, dict(run.parameters), str(run.status))


def algo_run_update(algo_run_id: int, status: str, result: dict[str, Any], clock: Clock = SYSTEM_CLOCK) -> None:
    now = clock.now()
    changes: dict[str, Any] = {"status": status}
    if result:  # pause and resume keep what the run reported so far
        changes["result"] = result
    if status == AlgoRun.Status.RUNNING:
        AlgoRun.objects.filter(pk=algo_run_id, started_at__isnull=True).update(started_at=now)
    elif status in (AlgoRun.Status.COMPLETED, AlgoRun.Status.CANCELLED, AlgoRun.Status.FAILED):
        changes["ended_at"] = now
    AlgoRun.objects.filter(pk=algo_run_id).update(**changes)


def algo_runs_to_resume() -> list[RunRecord]:
    """Runs that were running or paused when the engine stopped."""
    return [record for run in AlgoRun.objects.filter(status__in=LIVE_STATUSES).order_by("pk")
            if (record := algo_run_record(run.pk)) is not None]


def algo_filled_quantity(algo_run_id: int) -> Decimal:
    """What the run's orders have filled, as booked."""
    total = Order.objects.filter(algo_run_id=algo_run_id).aggregate(total=Sum("filled_quantity"))["total"]
    return total or Decimal(0)


def algo_filled_by_symbol(algo_run_id: int) -> dict[str, Decimal]:
    """What the run's orders have filled per symbol, as booked (the truth a resumed algo continues from)."""
    rows = (Order.objects.filter(algo_run_id=algo_run_id).values("symbol")
            .annotate(total=Sum("filled_quantity")).values_list("symbol", "total"))
    return {symbol: total or Decimal(0) for symbol, total in rows}


# -- strategy instances (configured in the admin) -------------------------------------------------------------
def strategy_instance_check(*, strategy: str, symbols: str, parameters: Any, sub_account_id: int) -> dict[str, Any]:
    """An instance's configuration as the engine would start it: the registry's name, known symbols and the
    strategy's own parameter check; an AppError saying what to change otherwise."""
    sub_account = SubAccount.objects.filter(pk=sub_account_id).first()
    if sub_account is None:
        raise NotFound(f"sub-account {sub_account_id} does not exist")
    return strategy_validate(sub_account_id=sub_account_id,
                             params={"strategy": strategy, "symbols": symbols, "parameters": parameters})


def _instance_live_run(instance: Any) -> AlgoRun | None:
    run = instance.algo_run
    return run if run is not None and run.status in (AlgoRun.Status.PENDING, *LIVE_STATUSES) else None


@transaction.atomic
def strategy_instance_enable(*, instance_id: int, actor: Any, clock: Clock = SYSTEM_CLOCK) -> Any:
    """Start the instance (an engine command); an instance already running is left as it is."""
    from algos.models import StrategyInstance

    instance = StrategyInstance.objects.select_for_update(of=("self",)).select_related("algo_run").get(pk=instance_id)
    if _instance_live_run(instance) is None:
        run = algo_start(kind="strategy", sub_account_id=instance.sub_account_id, params=instance.start_params(),
                         actor=_actor_label(actor), clock=clock)
        instance.algo_run = run
    instance.enabled = True
    instance.save(update_fields=["enabled", "algo_run", "updated_at"])
    audit_record(actor=actor, action="strategy_instance_enable", target_type="strategy_instance",
                 target_id=instance.pk, payload={"algo_run_id": instance.algo_run_id}, clock=clock)
    return instance


@transaction.atomic
def strategy_instance_disable(*, instance_id: int, actor: Any, clock: Clock = SYSTEM_CLOCK) -> Any:
    """Stop the instance's run (an engine command) and mark it disabled."""
    from algos.models import StrategyInstance

    instance = StrategyInstance.objects.select_for_update(of=("self",)).select_related("algo_run").get(pk=instance_id)
    run = _instance_live_run(instance)
    if run is not None:
        algo_stop(algo_run_id=run.pk, actor=_actor_label(actor), clock=clock)
    instance.enabled, instance.algo_run = False, None
    instance.save(update_fields=["enabled", "algo_run", "updated_at"])
    audit_record(actor=actor, action="strategy_instance_disable", target_type="strategy_instance",
                 target_id=instance.pk, payload={"stopped_algo_run_id": run.pk if run else None}, clock=clock)
    return instance


@transaction.atomic
def strategy_instance_save(*, instance: Any, actor: Any, clock: Clock = SYSTEM_CLOCK) -> Any:
    """Create or change an instance (checked first). Enabled: started, or restarted when what it runs changed
    (a changed strategy file also runs from that restart); disabled: its run stopped."""
    from algos.models import StrategyInstance

    clean = strategy_instance_check(strategy=instance.strategy, symbols=instance.symbols,
                                    parameters=instance.parameters, sub_account_id=instance.sub_account_id)
    instance.symbols = ",".join(clean["symbols"])
    before = StrategyInstance.objects.filter(pk=instance.pk).first() if instance.pk else None
    wanted = instance.enabled
    changed = before is not None and (before.strategy, before.symbols, before.parameters, before.sub_account_id) != (
        instance.strategy, instance.symbols, instance.parameters, instance.sub_account_id)
    instance.enabled = before.enabled if before is not None else False
    instance.algo_run = before.algo_run if before is not None else None
    instance.save()
    audit_record(actor=actor, action="strategy_instance_save", target_type="strategy_instance",
                 target_id=instance.pk, payload={"strategy": instance.strategy, "symbols": instance.symbols,
                                                 "parameters": instance.parameters,
                                                 "sub_account_id": instance.sub_account_id, "enabled": wanted},
                 clock=clock)
    if (not wanted or changed) and instance.enabled:
        instance = strategy_instance_disable(instance_id=instance.pk, actor=actor, clock=clock)
    if wanted and not instance.enabled:
        instance = strategy_instance_enable(instance_id=instance.pk, actor=actor, clock=clock)
    return instance


def _actor_label(actor: Any) -> str:
    return actor if isinstance(actor, str) else str(getattr(actor, "get_username", lambda: "anonymous")())
