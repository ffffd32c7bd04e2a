"""The house sub-account is never auto-deleveraged: it holds what nobody here placed (manual trades,
liquidations, reconciliation residuals); crossing a tier raises an alert for the operator instead."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from risk.tests.test_engine import market, price_for_ratio, tick_to, with_risk
from trading.domain.types import Side
from trading.tests.engine.harness import ALPHA, make_harness

D = Decimal


async def test_an_exempt_sub_account_crossing_every_tier_is_alerted_not_deleveraged():
    h = await make_harness()
    risk, store, _ = await with_risk(h, {}, {ALPHA: D(1000)})
    risk.config = replace(risk.config, adl_exempt=frozenset({ALPHA}))
    assert (await h.manager.place(market(ALPHA, Side.BUY, "0.300"))).ok
    await h.pump()
    for target in (D("0.91"), D("0.935"), D("0.96")):
        await tick_to(h, risk, price_for_ratio(risk, target))
    assert store.adl == [] and not [kind for _, kind, _ in h.events if kind == "adl_triggered"]
    alerts = [data for _, kind, data in h.events if kind == "risk_alert" and data.get("kind") == "adl_exempt"]
    assert [alert["tier"] for alert in alerts] == [1, 2, 3] and "close its positions by hand" in alerts[0]["message"]
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.300")
