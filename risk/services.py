"""Risk use cases: limits, manual trips and resets (audited), breach and ADL records, bracket tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from core.clock import SYSTEM_CLOCK, Clock
from core.errors import AppError, NotFound
from risk.domain.margin import Bracket, brackets_consistent
from risk.domain.states import Scope, ScopeKind, TradingState
from risk.models import (
    AdlAction,
    BreachRecord,
    EquityState,
    GlobalRiskLimit,
    LeverageBracketTable,
    MarkHistory,
    RiskLimit,
    TradingStateRecord,
    brackets_to_json,
)
from trading.events import event_publish
from trading.models import AlgoRun, SubAccount
from trading.services.audit import audit_record

Actor = AbstractBaseUser | AnonymousUser | str | None
STATES_CHANNEL = "pms_risk_states"  # NOTIFY payload: "<scope_kind>:<scope_key>"
LIMIT_FIELDS = ("max_position_notional", "max_total_notional", "max_leverage", "max_open_orders",
                "max_orders_per_minute", "max_order_notional", "max_daily_loss", "max_drawdown_pct",
                "rapid_drawdown_pct", "allowed_symbols", "price_band_pct")
GLOBAL_LIMIT_FIELDS = ("max_symbol_net_notional", "max_total_notional", "per_symbol_net_notional")


def _validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)


@transaction.atomic
def risk_limit_set(*, sub_account_id: int, values: Mapping[str, Any], actor: Actor,
                   clock: Clock = SYSTEM_CLOCK) -> RiskLimit:
    """Create or change a sub-account's limits; refused values change nothing and say what to fix."""
    unknown = sorted(set(values) - set(LIMIT_FIELDS))
    if unknown:
        raise AppError(f"unknown limit field(s): {', '.join(unknown)}; expected {', '.join(LIMIT_FIELDS)}")
    if not SubAccount.objects.filter(pk=sub_account_id).exists():
        raise NotFound(f"sub-account {sub_account_id} does not exist")
    row = RiskLimit.objects.select_for_update().filter(sub_account_id=sub_account_id).first() or RiskLimit(
        sub_account_id=sub_account_id)
    for name, value in values.items():
        setattr(row, name, value)
    try:
        row.full_clean()
    except ValidationError as exc:
        raise AppError(_validation_message(exc), code="invalid_limits") from None
    row.save()
    transaction.on_commit(risk_changes_notify)
    audit_record(actor=actor, action="risk.limit_set", target_type="sub_account", target_id=sub_account_id,
                 payload=dict(values), clock=clock)
    return row


def _amounts_as_text(raw: Any) -> Any:
    """Per-symbol amounts are stored as JSON strings ("2000000"), never floats; anything else is left to clean()."""
    if not isinstance(raw, Mapping):
        return raw
    return {str(symbol): format(value, "f") if isinstance(value, Decimal) else value for symbol, value in raw.items()}


@transaction.atomic
def global_limit_set(*, values: Mapping[str, Any], actor: Actor, clock: Clock = SYSTEM_CLOCK) -> GlobalRiskLimit:
    """Change the desk's limits (the fields given), validated as the admin does; refused values change nothing."""
    unknown = sorted(set(values) - set(GLOBAL_LIMIT_FIELDS))
    if unknown:
        raise AppError(f"unknown limit field(s): {', '.join(unknown)}; expected {', '.join(GLOBAL_LIMIT_FIELDS)}")
    row = GlobalRiskLimit.objects.select_for_update().filter(name="desk").first() or GlobalRiskLimit(name="desk")
    for name, value in values.items():
        setattr(row, name, _amounts_as_text(value) if name == "per_symbol_net_notional" else value)
    try:
        row.full_clean()
    except ValidationError as exc:
        raise AppError(_validation_message(exc), code="invalid_limits") from None
    row.save()
    transaction.on_commit(risk_changes_notify)
    audit_record(actor=actor, action="risk.global_limit_set", target_type="global_risk_limit", target_id=row.name,
                 payload=dict(values), clock=clock)
    return row


def _check_scope(scope: Scope) -> None:
    if scope.kind is ScopeKind.SUB_ACCOUNT and not SubAccount.objects.filter(pk=scope.key).exists():
        raise NotFound(f"sub-account {scope.key} does not exist")
    if scope.kind is ScopeKind.ALGO and not AlgoRun.objects.filter(pk=scope.key).exists():
        raise NotFound(f"algo run {scope.key} does not exist")
    if scope.kind is ScopeKind.GLOBAL and scope.key != 0:
        raise AppError("the global scope has no key")


@transaction.atomic
def trading_state_set(*, scope: Scope, state: TradingState, reason: str, actor: Actor, trigger: str = "manual",
                      clock: Clock = SYSTEM_CLOCK) -> TradingStateRecord:
    """Set a scope's trading state (manual trip or reset, or a breaker); audited; the engine is told on commit."""
    reason = reason.strip()
    if not reason:
        raise AppError("a reason is required to change a trading state")
    _check_scope(scope)
    row, _ = TradingStateRecord.objects.select_for_update().get_or_create(
        scope_kind=scope.kind.value, scope_key=scope.key, defaults={"changed_at": clock.now()})
    before = row.state
    row.state, row.reason, row.trigger = state.value, reason, trigger
    row.changed_by = actor if isinstance(actor, str) else (actor.get_username() if actor is not None else "")
    row.changed_at = clock.now()
    row.save()
    audit_record(actor=actor, action=f"risk.state_{state.value}", target_type=scope.kind.value, target_id=scope.key,
                 payload={"before": before, "after": state.value, "reason": reason, "trigger": trigger}, clock=clock)
    data = {"scope": scope.kind.value, "key": scope.key, "state": state.value, "before": before,
            "reason": reason, "trigger": trigger}
    transaction.on_commit(lambda: _announce(scope, data, clock))
    return row


def risk_changes_notify(payload: str = "limits") -> None:
    """Wake the running engine's risk watcher (it also polls): limits or a state changed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [STATES_CHANNEL, payload])


def _announce(scope: Scope, data: dict[str, Any], clock: Clock) -> None:
    risk_changes_notify(f"{scope.kind.value}:{scope.key}")
    event_publish("risk", "circuit_breaker", data, clock=clock)


def breaker_trip(*, scope: Scope, reason: str, actor: Actor, state: TradingState = TradingState.HALTED,
                 clock: Clock = SYSTEM_CLOCK) -> TradingStateRecord:
    """The kill switch: HALTED (only cancels) or REDUCING, with a reason."""
    if state is TradingState.ACTIVE:
        raise AppError("a trip sets reducing or halted; use breaker_reset to resume trading")
    return trading_state_set(scope=scope, state=state, reason=reason, actor=actor, clock=clock)


def breaker_reset(*, scope: Scope, reason: str, actor: Actor, clock: Clock = SYSTEM_CLOCK) -> TradingStateRecord:
    return trading_state_set(scope=scope, state=TradingState.ACTIVE, reason=reason, actor=actor, clock=clock)


@transaction.atomic
def breach_record(*, scope: Scope, kind: str, state_after: TradingState, detail: str,
                  data: dict[str, Any] | None = None, clock: Clock = SYSTEM_CLOCK) -> BreachRecord:
    """An automatic trip: the breach row and the scope's new state, in one transaction."""
    row = BreachRecord.objects.create(scope_kind=scope.kind.value, scope_key=scope.key, kind=kind,
                                      state_after=state_after.value, detail=detail, data=data or {},
                                      created_at=clock.now())
    if state_after is not TradingState.ACTIVE:
        trading_state_set(scope=scope, state=state_after, reason=detail, actor="risk-engine", trigger=kind,
                          clock=clock)
    return row


def adl_action_record(*, sub_account_id: int, tier: int, margin_ratio: Decimal, symbol: str, side: str,
                      quantity: Decimal, client_order_id: str, result: str, clock: Clock = SYSTEM_CLOCK) -> AdlAction:
    ratio = margin_ratio if margin_ratio.is_finite() else Decimal(10**18)
    return AdlAction.objects.create(sub_account_id=sub_account_id, tier=tier, margin_ratio=ratio, symbol=symbol,
                                    side=side, quantity=quantity, client_order_id=client_order_id,
                                    result=result[:255], created_at=clock.now())


def leverage_brackets_save(*, tables: Mapping[str, Sequence[Bracket]], clock: Clock = SYSTEM_CLOCK) -> int:
    """Store the venue's bracket tables; an inconsistent table is refused with the reason."""
    for symbol, table in tables.items():
        problem = brackets_consistent(table, check_cum=False)  # the venue's cum is authoritative
        if problem is not None:
            raise AppError(f"{symbol} leverage brackets refused: {problem}")
    for symbol, table in tables.items():
        LeverageBracketTable.objects.update_or_create(
            symbol=symbol, defaults={"brackets": brackets_to_json(list(table)), "fetched_at": clock.now()})
    return len(tables)


def equity_states_save(*, rows: Sequence[tuple[int, int, Decimal, Decimal]], clock: Clock = SYSTEM_CLOCK) -> int:
    """Upsert (sub-account, day number, day open, peak) rows in one statement; unknown sub-accounts are skipped."""
    known = set(SubAccount.objects.filter(pk__in=[row[0] for row in rows]).values_list("pk", flat=True))
    now = clock.now()
    records = [EquityState(sub_account_id=sub_id, day=date(1970, 1, 1) + timedelta(days=day), day_open_equity=day_open,
                           peak_equity=peak, updated_at=now)
               for sub_id, day, day_open, peak in rows if sub_id in known]
    EquityState.objects.bulk_create(records, update_conflicts=True, unique_fields=["sub_account"],
                                    update_fields=["day", "day_open_equity", "peak_equity", "updated_at"])
    return len(records)


def marks_record(*, marks: Mapping[str, Decimal], clock: Clock = SYSTEM_CLOCK) -> int:
    """The marks seen now become their hour's mark (the latest in an hour wins); one statement."""
    now = clock.now()
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    records = [MarkHistory(symbol=symbol, hour=hour, mark_price=mark, seen_at=now)
               for symbol, mark in marks.items() if mark.is_finite() and mark > 0]
    MarkHistory.objects.bulk_create(records, update_conflicts=True, unique_fields=["symbol", "hour"],
                                    update_fields=["mark_price", "seen_at"])
    return len(records)


def mark_history_import(*, symbol: str, closes: Sequence[tuple[int, Decimal]], clock: Clock = SYSTEM_CLOCK) -> int:
    """Seed the history from klines: (open time in ms, close) rows, each close the mark of its hour."""
    now = clock.now()
    by_hour: dict[datetime, Decimal] = {}
    for open_ms, close in closes:
        at = datetime.fromtimestamp(open_ms / 1000, tz=UTC).replace(minute=0, second=0, microsecond=0)
        by_hour[at] = close  # later rows of the hour overwrite earlier ones
    records = [MarkHistory(symbol=symbol, hour=hour, mark_price=mark, seen_at=now) for hour, mark in by_hour.items()
               if mark > 0]
    MarkHistory.objects.bulk_create(records, update_conflicts=True, unique_fields=["symbol", "hour"],
                                    update_fields=["mark_price", "seen_at"])
    return len(records)
