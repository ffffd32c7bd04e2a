"""Reads of risk state: limits, states, bracket tables, and a sub-account's risk snapshot."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings

from core.clock import SYSTEM_CLOCK, Clock
from risk.domain.limits import NO_GLOBAL_LIMITS, GlobalLimits, SubAccountLimits
from risk.domain.margin import DEFAULT_LEVERAGE, AccountMargin, Brackets, PositionInput, account_margin
from risk.domain.states import Scope, ScopeState
from risk.models import GlobalRiskLimit, LeverageBracketTable, RiskLimit, TradingStateRecord
from risk.snapshots import snapshot_data, snapshot_key
from trading.selectors import cached_reference_price, position_list, subaccount_balance

logger = logging.getLogger(__name__)


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


def risk_snapshot(*, sub_account_id: int, redis_url: str | None = None,
                  clock: Clock = SYSTEM_CLOCK) -> dict[str, Any]:
    """The engine's snapshot from Redis; when it is missing, expired or Redis is down, computed from the DB."""
    import redis

    try:
        client = redis.Redis.from_url(redis_url or settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
        raw = client.get(snapshot_key(sub_account_id))
    except (redis.RedisError, OSError):
        logger.info("risk snapshot read from the database: Redis unavailable")
        raw = None
    if raw:
        data: dict[str, Any] = json.loads(raw)
        data["source"] = "engine"
        return data
    margin = subaccount_margin(sub_account_id=sub_account_id, redis_url=redis_url)
    row = TradingStateRecord.objects.filter(scope_kind="sub_account", scope_key=sub_account_id).first()
    return snapshot_data(sub_account_id, margin, state=row.state if row else "active", at_ms=clock.now_ms(),
                         extra={"source": "database"})
