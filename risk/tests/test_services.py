"""Limits, manual trips and resets against PostgreSQL: validated, audited, rejected input changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import AppError
from risk.domain.states import GLOBAL, TradingState, sub_account_scope
from risk.models import RiskLimit, TradingStateRecord
from risk.selectors import trading_states
from risk.services import breaker_reset, breaker_trip, risk_limit_set
from trading.models import AuditLog

D = Decimal
pytestmark = pytest.mark.django_db(transaction=True)


def test_valid_limits_are_saved_and_audited(instruments, make_sub_account):
    sub = make_sub_account()
    risk_limit_set(sub_account_id=sub.pk, values={"max_position_notional": D(50000),
                                                  "allowed_symbols": ["btcusdt"]}, actor="ops")
    row = RiskLimit.objects.get(sub_account=sub)
    assert row.to_domain().allowed_symbols == frozenset({"BTCUSDT"})
    assert AuditLog.objects.filter(action="risk.limit_set", target_id=str(sub.pk)).exists()


@pytest.mark.parametrize(("values", "message"), [
    ({"max_position_notional": D(-1)}, "max_position_notional: must be a positive amount"),
    ({"price_band_pct": D(90)}, "price_band_pct: must be above 0 and at most 50"),
    ({"allowed_symbols": ["BTCUSDT", "NOPEUSDT"]}, "unknown symbol(s): NOPEUSDT"),
    ({"max_position_notional": D(200), "max_total_notional": D(100)}, "above the max total notional"),
])
def test_bad_limits_are_refused_with_a_message_and_change_nothing(instruments, make_sub_account, values, message):
    sub = make_sub_account()
    with pytest.raises(AppError) as refused:
        risk_limit_set(sub_account_id=sub.pk, values=values, actor="ops")
    assert message in refused.value.user_message
    assert not RiskLimit.objects.exists() and not AuditLog.objects.exists()


def test_a_manual_trip_and_reset_need_a_reason_and_are_audited(make_sub_account):
    sub = make_sub_account()
    with pytest.raises(AppError, match="reason is required"):
        breaker_trip(scope=sub_account_scope(sub.pk), reason="  ", actor="ops")
    breaker_trip(scope=sub_account_scope(sub.pk), reason="runaway strategy", actor="ops")
    assert trading_states()[sub_account_scope(sub.pk)].state is TradingState.HALTED
    breaker_reset(scope=sub_account_scope(sub.pk), reason="fixed", actor="ops")
    assert trading_states() == {}
    actions = list(AuditLog.objects.order_by("id").values_list("action", "actor_label"))
    assert actions == [("risk.state_halted", "ops"), ("risk.state_active", "ops")]
    assert TradingStateRecord.objects.get().changed_by == "ops"


def test_a_trip_of_an_unknown_scope_is_refused(db):
    with pytest.raises(AppError, match="does not exist"):
        breaker_trip(scope=sub_account_scope(999_999), reason="x", actor="ops")
    breaker_trip(scope=GLOBAL, state=TradingState.REDUCING, reason="exchange incident", actor="ops")
    assert trading_states()[GLOBAL].state is TradingState.REDUCING
