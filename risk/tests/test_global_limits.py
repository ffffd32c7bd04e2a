"""The desk's limits: the service validates as the admin does, audits, and the running engine applies a change."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from core.errors import AppError
from risk.domain.limits import GlobalLimits, SubAccountLimits
from risk.runtime import risk_engine_start, watch_risk_changes
from risk.services import global_limit_set
from risk.tests.test_runtime import close_thread_connections, database_url, desk  # noqa: F401 - fixtures
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType, Side
from trading.models import AuditLog
from trading.tests.engine.harness import make_harness

D = Decimal
pytestmark = pytest.mark.django_db(transaction=True)


def test_an_unknown_field_is_refused_and_amounts_are_stored_as_text(instruments):
    with pytest.raises(AppError, match="unknown limit field\\(s\\): max_loss"):
        global_limit_set(values={"max_loss": D(5)}, actor="ops")

    row = global_limit_set(values={"per_symbol_net_notional": {"BTCUSDT": D("2E+6")}}, actor="ops")

    assert row.per_symbol_net_notional == {"BTCUSDT": "2000000"}
    assert AuditLog.objects.get(action="risk.global_limit_set").payload == {
        "per_symbol_net_notional": {"BTCUSDT": "2E+6"}}


async def test_a_desk_limit_change_reaches_the_running_engine_by_notify_and_binds_its_checks(
        desk, monkeypatch):  # noqa: F811
    h = await make_harness()
    instruments = {rules.symbol: rules for rules in await h.venue.instruments()}
    risk = await risk_engine_start(manager=h.manager, venue=h.venue, instruments=instruments, redis=None,
                                   clock=h.clock)
    buy = OrderIntent(desk.pk, "BTCUSDT", Side.BUY, OrderType.MARKET, D("0.001"))
    assert risk.check(buy, reference_price=D(60000)) is None  # 0.5 BTC long: 30,000 USDT, no desk cap yet
    applied = asyncio.Event()
    set_limits = risk.set_limits

    def set_limits_seen(limits: dict[int, SubAccountLimits], global_limits: GlobalLimits) -> None:
        set_limits(limits, global_limits)
        if global_limits.max_symbol_net_notional == D(30000):
            applied.set()

    monkeypatch.setattr(risk, "set_limits", set_limits_seen)
    watcher = asyncio.create_task(watch_risk_changes(risk, database_url=database_url(), poll_interval_s=60))
    try:
        await asyncio.sleep(0.5)  # LISTEN is on
        await sync_to_async(global_limit_set)(values={"max_symbol_net_notional": D(30000)}, actor="ops")
        async with asyncio.timeout(10):  # well before the 60 s poll: only the NOTIFY can wake it this soon
            await applied.wait()
        denied = risk.check(buy, reference_price=D(60000))
        assert denied is not None and "desk net BTCUSDT exposure 30,000 USDT would be exceeded" in denied.reason
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
