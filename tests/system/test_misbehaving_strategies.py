"""RELIABILITY #14 over real processes: the five misbehaving strategies, each on its own sub-account with risk
limits, run in the engine against simexchange while another sub-account runs a TWAP.

Asserted: no order beyond a limit reached the exchange (counted on the exchange by each sub-account's client
id prefix), the breaker trips are recorded (BreachRecord, TradingStateRecord), every misbehaving strategy is
stopped (halted by a breaker or failed by its isolation), and the TWAP completes exactly.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from algos.services import algo_start
from risk.models import BreachRecord, TradingStateRecord
from risk.services import risk_limit_set
from trading.models import AlgoRun, SubAccount, VirtualPosition
from trading.services import subaccount_deposit

from .harness import System, wait_until

D = Decimal
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LOOSE = {"max_signals_per_callback": 1000, "max_signals_per_minute": 100_000}  # the risk engine must act
CHAOS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {  # sub-account: (strategy, instance, limits)
    "runaway": ("runaway", {"symbols": "BTCUSDT", **LOOSE},
                {"max_open_orders": 5, "max_orders_per_minute": 10}),
    "ignorant": ("risk_ignorant", {"symbols": "BTCUSDT", **LOOSE}, {"max_position_notional": D(1000)}),
    "amplifier": ("volatility_amplifier", {"symbols": "BTCUSDT"}, {"max_position_notional": D(2000)}),
    "breaker": ("correlation_breaker", {"symbols": "BTCUSDT,ETHUSDT"}, {"max_position_notional": D(500)}),
    "leak": ("slow_leak", {"symbols": "BTCUSDT", "parameters": {"leak": "0.2"}}, {"max_orders_per_minute": 40}),
}


def status(run: AlgoRun) -> str:
    run.refresh_from_db()
    return str(run.status)


def on_exchange(system: System, sub: SubAccount) -> list[dict[str, Any]]:
    prefix = f"PMS{sub.code}_"
    return [o for symbol in ("BTCUSDT", "ETHUSDT") for o in system.exchange_orders(symbol)
            if o["clientOrderId"].startswith(prefix)]


def filled_notional(orders: list[dict[str, Any]], symbol: str) -> Decimal:
    """The largest net exposure the sub-account's fills reached in `symbol`, in USDT at the fill prices."""
    net, worst = D(0), D(0)
    for order in sorted((o for o in orders if o["symbol"] == symbol), key=lambda o: o["updateTime"]):
        quantity = D(order["executedQty"]) * (1 if order["side"] == "BUY" else -1)
        net += quantity
        worst = max(worst, abs(net) * D(order["avgPrice"] or "0"))
    return worst


def test_misbehaving_strategies_are_stopped_by_limits_and_breakers_while_a_twap_trades_normally(
        fed_system: System, desk: dict[str, SubAccount]) -> None:
    system = fed_system
    subs: dict[str, SubAccount] = {}
    for name, (_, _, limits) in CHAOS.items():
        subs[name] = SubAccount.objects.create(name=name)
        subaccount_deposit(sub_account_id=subs[name].pk, amount=D("100000"), actor="system-test")
        risk_limit_set(sub_account_id=subs[name].pk, values=limits, actor="system-test")
    system.start_engine()
    runs = {name: algo_start(kind="strategy", sub_account_id=subs[name].pk, actor="system-test",
                             params={"strategy": strategy, **instance})
            for name, (strategy, instance, _) in CHAOS.items()}
    twap = algo_start(kind="twap", sub_account_id=desk["beta"].pk, actor="system-test", reference_price=D("60000"),
                      params={"symbol": "BTCUSDT", "side": "buy", "quantity": "0.020", "lots": "4", "interval_s": "1"})
    wait_until(lambda: all(status(run) != "pending" for run in [*runs.values(), twap]), timeout_s=40,
               what="the engine to start all")

    # BTC climbs 1.1 % a step (the amplifier chases each move, the breaker shorts ETH on each rise).
    price = D("60000.0")
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        system.quote("BTCUSDT", str(price), str(price + D("0.1")))
        system.quote("ETHUSDT", "3000.00", "3000.01")
        time.sleep(0.3)
        price = (price * D("1.011")).quantize(D("0.1")) if price < D("70000") else price
        stopped = all(status(runs[name]) in ("cancelled", "failed") for name in ("runaway", "ignorant", "leak"))
        if price >= D("70000") and stopped and status(twap) == "completed":
            break
    final = {name: status(run) for name, run in runs.items()}
    assert status(twap) == "completed", system.engine_log()
    beta = VirtualPosition.objects.get(sub_account=desk["beta"], symbol="BTCUSDT")
    assert beta.quantity == D("0.020")

    # runaway: halted at its order rate; never more than 5 orders on the exchange (max open orders)
    runaway = on_exchange(system, subs["runaway"])
    assert 1 <= len(runaway) <= 5 and final["runaway"] == "cancelled"
    assert all(o["status"] in ("CANCELED", "FILLED") for o in runaway)  # HALTED cancelled the resting ones
    assert BreachRecord.objects.filter(scope_kind="algo", scope_key=runs["runaway"].pk, kind="order_rate").exists()
    assert TradingStateRecord.objects.get(scope_kind="algo", scope_key=runs["runaway"].pk).state == "halted"

    # risk-ignorant: every doubling refused, halted by the storm of refusals (its exposure: at the end)
    ignorant = on_exchange(system, subs["ignorant"])
    assert BreachRecord.objects.filter(scope_kind="algo", scope_key=runs["ignorant"].pk,
                                       kind__in=("rejection_storm", "order_rate")).exists()
    assert final["ignorant"] == "cancelled"

    # breaker: capped by its position limit at every fill (a fourth ETH short would cross it)
    breaker = on_exchange(system, subs["breaker"])
    assert filled_notional(breaker, "ETHUSDT") <= D(500)
    assert sum(D(o["executedQty"]) for o in breaker) == D("0.150")
    assert not [o for o in breaker if o["symbol"] == "BTCUSDT"]

    # slow leak: failed by its isolation, the reason recorded
    runs["leak"].refresh_from_db()
    assert final["leak"] == "failed" and "slow leak: failure after" in runs["leak"].result["outcome"]

    # exposure limits of the strategies that add on every tick: an instant fill counts from its REST answer on,
    # before the stream books it, so no second entry slips through in between
    amplifier = on_exchange(system, subs["amplifier"])
    assert len(ignorant) == 1 and filled_notional(ignorant, "BTCUSDT") <= D(1000), ignorant
    assert filled_notional(amplifier, "BTCUSDT") <= D(2000), amplifier
    assert sum(D(o["executedQty"]) for o in amplifier) == D("0.028"), amplifier
