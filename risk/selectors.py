"""Reads of risk state: limits, states, bracket tables, and a sub-account's risk snapshot."""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models.functions import TruncDate

from core.clock import SYSTEM_CLOCK, Clock
from risk.domain.limits import NO_GLOBAL_LIMITS, GlobalLimits, SubAccountLimits
from risk.domain.margin import DEFAULT_LEVERAGE, AccountMargin, Brackets, PositionInput, account_margin
from risk.domain.monitors import VarEstimate, daily_returns_by_day, historical_var
from risk.domain.states import Scope, ScopeState
from risk.models import (
    EquityState,
    GlobalRiskLimit,
    LeverageBracketTable,
    MarkHistory,
    RiskLimit,
    TradingStateRecord,
)
from risk.snapshots import monitor_fields, snapshot_data, snapshot_key
from trading.selectors import cached_reference_price, position_list, subaccount_balance

logger = logging.getLogger(__name__)
EPOCH_DAY = date(1970, 1, 1)
VAR_DAYS = 250  # about a year of trading days of history for the 1-day VaR


def limits_by_sub_account() -> dict[int, SubAccountLimits]:
    return {row.sub_account_id: row.to_domain() for row in RiskLimit.objects.all()}


def global_limits() -> GlobalLimits:
    row = GlobalRiskLimit.objects.filter(name="desk").first()
    return row.to_domain() if row is not None else NO_GLOBAL_LIMITS


def trading_states() -> dict[Scope, ScopeState]:
    """Every scope that is not active (an active row restricts nothing)."""
    states = (row.to_domain() for row in TradingStateRecord.objects.exclude(state="active"))
    return {state.scope: state for state in states}


def leverage_brackets() -> dict[str, Brackets]:
    return {row.symbol: row.to_domain() for row in LeverageBracketTable.objects.all()}


def leverage_for(limits: SubAccountLimits | None, brackets: Brackets) -> int:
    """The leverage a sub-account's initial margin is computed at: its limit, else Binance's default of 20,
    never above what the first bracket allows."""
    wanted = int(limits.max_leverage) if limits is not None and limits.max_leverage is not None else DEFAULT_LEVERAGE
    return max(1, min(wanted, brackets[0].max_leverage))


def subaccount_margin(*, sub_account_id: int, redis_url: str | None = None) -> AccountMargin:
    """Computed from the database (ledger, positions), the price cache's marks and the stored brackets."""
    tables = leverage_brackets()
    limits = RiskLimit.objects.filter(sub_account_id=sub_account_id).first()
    domain_limits = limits.to_domain() if limits is not None else None
    inputs = []
    for position in position_list(sub_account_id=sub_account_id):
        if position.symbol not in tables:
            raise LookupError(f"no leverage brackets stored for {position.symbol}; the engine stores them at start")
        mark = cached_reference_price(symbol=position.symbol, redis_url=redis_url) or position.average_entry
        inputs.append(PositionInput(position.symbol, position.quantity, position.average_entry, mark,
                                    leverage_for(domain_limits, tables[position.symbol])))
    return account_margin(wallet_balance=subaccount_balance(sub_account_id=sub_account_id), positions=inputs,
                          brackets=tables)


def equity_states() -> dict[int, tuple[int, int, Decimal, Decimal]]:
    """Saved equity history per sub-account: (sub-account, day number since the epoch, day open, peak)."""
    return {row.sub_account_id: (row.sub_account_id, (row.day - EPOCH_DAY).days, row.day_open_equity,
                                 row.peak_equity) for row in EquityState.objects.all()}


def daily_mark_returns(*, before: date, days: int = VAR_DAYS, symbols: list[str] | None = None
                       ) -> dict[str, list[Decimal]]:
    """1-day returns per symbol from the stored marks (each UTC day's last hourly mark), days before `before`."""
    start = datetime.combine(before - timedelta(days=days + 1), datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(before, datetime.min.time(), tzinfo=UTC)
    rows = MarkHistory.objects.filter(hour__gte=start, hour__lt=end)
    if symbols is not None:
        rows = rows.filter(symbol__in=symbols)
    closes = (rows.annotate(day=TruncDate("hour", tzinfo=UTC)).order_by("symbol", "day", "-hour")
              .distinct("symbol", "day").values_list("symbol", "day", "mark_price"))
    by_symbol: dict[str, list[tuple[int, Decimal]]] = {}
    for symbol, day, mark in closes:
        by_symbol.setdefault(symbol, []).append(((day - EPOCH_DAY).days, mark))
    return {symbol: daily_returns_by_day(series) for symbol, series in by_symbol.items()}


def subaccount_var(*, margin: AccountMargin, today: date) -> VarEstimate | None:
    exposures = {p.symbol: p.quantity * p.mark_price for p in margin.positions}
    if not any(exposures.values()):
        return historical_var(exposures, {})
    return historical_var(exposures, daily_mark_returns(before=today, symbols=sorted(exposures)))


@functools.lru_cache(maxsize=8)
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def _snapshot_from_redis(sub_account_ids: list[int], redis_url: str | None) -> list[bytes | None]:
    import redis

    try:
        return list(_redis(redis_url or settings.REDIS_URL).mget([snapshot_key(i) for i in sub_account_ids]))
    except (redis.RedisError, OSError):
        logger.info("risk snapshot read from the database: Redis unavailable")
        return [None] * len(sub_account_ids)


def risk_snapshot(*, sub_account_id: int, redis_url: str | None = None,
                  clock: Clock = SYSTEM_CLOCK) -> dict[str, Any]:
    """The engine's snapshot from Redis (source "engine"); when it is missing, expired or Redis is down, computed
    from the database (source "database"). Both have the same keys: see risk.snapshots.snapshot_data and
    monitor_fields (margin_ratio, positions[].liquidation_price, state, drawdown_pct, var_1d, ...).
    Raises LookupError when a position's symbol has no stored brackets (risk_snapshots says "unavailable")."""
    [raw] = _snapshot_from_redis([sub_account_id], redis_url)
    if raw:
        data: dict[str, Any] = json.loads(raw)
        data["source"] = "engine"
        return data
    return _snapshot_from_database(sub_account_id, redis_url, clock)


def risk_snapshots(*, sub_account_ids: list[int], redis_url: str | None = None,
                   clock: Clock = SYSTEM_CLOCK) -> dict[int, dict[str, Any]]:
    """Many sub-accounts' snapshots in one Redis round trip (a desk page); the missing ones from the database, or
    {"source": "unavailable", "note": why} when even that cannot be computed (no brackets stored yet)."""
    found: dict[int, dict[str, Any]] = {}
    for sub_account_id, raw in zip(sub_account_ids, _snapshot_from_redis(sub_account_ids, redis_url), strict=True):
        if raw:
            data: dict[str, Any] = json.loads(raw)
            data["source"] = "engine"
            found[sub_account_id] = data
        else:
            try:
                found[sub_account_id] = _snapshot_from_database(sub_account_id, redis_url, clock)
            except LookupError as exc:  # a position in a symbol whose brackets the engine has not stored yet
                found[sub_account_id] = {"sub_account_id": sub_account_id, "source": "unavailable", "note": str(exc)}
    return found


def _snapshot_from_database(sub_account_id: int, redis_url: str | None, clock: Clock) -> dict[str, Any]:
    margin = subaccount_margin(sub_account_id=sub_account_id, redis_url=redis_url)
    row = TradingStateRecord.objects.filter(scope_kind="sub_account", scope_key=sub_account_id).first()
    saved = EquityState.objects.filter(sub_account_id=sub_account_id).first()
    today = clock.now().astimezone(UTC).date()
    peak = max(saved.peak_equity, margin.margin_balance) if saved is not None else margin.margin_balance
    day_open = saved.day_open_equity if saved is not None and saved.day == today else margin.margin_balance
    extra = monitor_fields(margin, peak=peak, day_open=day_open, var=subaccount_var(margin=margin, today=today))
    return snapshot_data(sub_account_id, margin, state=row.state if row else "active", at_ms=clock.now_ms(),
                         extra={**extra, "source": "database"})


def risk_summary(*, sub_account_id: int, redis_url: str | None = None, clock: Clock = SYSTEM_CLOCK) -> dict[str, Any]:
    """The cheap read for pages and the API: margin ratio, trading state, liquidation price per symbol, VaR,
    drawdown, where it came from ("engine" snapshot, "database", or "unavailable" with a note) and when (at_ms).
    Never raises for a sub-account that exists."""
    data = risk_snapshots(sub_account_ids=[sub_account_id], redis_url=redis_url, clock=clock)[sub_account_id]
    keys = ("sub_account_id", "state", "margin_ratio", "margin_balance", "maint_margin", "available_balance",
            "total_notional", "drawdown_pct", "var_1d", "source", "note", "at_ms")
    return {**{key: data.get(key) for key in keys},
            "liquidation_prices": {p["symbol"]: p["liquidation_price"] for p in data.get("positions", [])}}
