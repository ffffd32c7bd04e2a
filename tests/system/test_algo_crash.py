"""RELIABILITY #1: the engine SIGKILLed mid-chase and mid-TWAP, then restarted, over real processes.

After the restart every algo resumes from its saved state; the orders it owned were proven by a query by
client id before it acted. Asserted: no orphan (an open PMS order on the exchange with no live owner), no
duplicate, the TWAP total exact, positions equal to the exchange's.
"""

from __future__ import annotations

import signal
from decimal import Decimal

import pytest

from algos.services import algo_start
from trading.models import AlgoRun, Order, SubAccount, VirtualPosition

from .harness import System, wait_until

D = Decimal
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LIVE = ("pending_submit", "new", "partially_filled", "cancel_pending", "unknown")


def start(system: System, kind: str, sub: SubAccount, **params: str) -> AlgoRun:
    """Start through the command path; the engine sizes a TWAP from a fresh price (cache, else REST)."""
    system.quote("BTCUSDT", "60000.0", "60000.1")
    run = algo_start(kind=kind, sub_account_id=sub.pk, params={"symbol": "BTCUSDT", **params},
                     actor="system-test", reference_price=D("60000"))
    wait_until(lambda: run_status(run) != "pending", what="the engine to take the algo")
    assert run_status(run) == "running", run.result
    return run


def quote_until(system: System, bid: str, ask: str, condition, what: str, timeout_s: float = 15):
    """Send the quote again until it has its effect: a quote sent while a stream resubscribes is lost, as
    on a real exchange, and the feed here is otherwise silent."""
    def sent_and_checked():
        if condition():
            return True
        system.quote("BTCUSDT", bid, ask)
        return condition()

    return wait_until(sent_and_checked, timeout_s, what)


def run_status(run: AlgoRun) -> str:
    run.refresh_from_db()
    return str(run.status)


def open_on_exchange(system: System) -> list[dict]:
    return [o for o in system.exchange_orders("BTCUSDT") if o["status"] in ("NEW", "PARTIALLY_FILLED")]


def assert_no_orphan_and_no_duplicate(system: System, run: AlgoRun) -> None:
    on_exchange = {o["clientOrderId"] for o in open_on_exchange(system)}
    owned_live = set(Order.objects.filter(algo_run=run, status__in=LIVE).values_list("client_order_id", flat=True))
    assert on_exchange == owned_live, f"exchange {on_exchange} vs live in PostgreSQL {owned_live}"
    assert len(on_exchange) <= 1, f"a chase works one order at a time, found {on_exchange}"


def position(sub: SubAccount) -> Decimal:
    row = VirtualPosition.objects.filter(sub_account=sub, symbol="BTCUSDT").first()
    return row.quantity if row else D(0)


def test_a_chase_killed_after_its_cancel_was_acknowledged_resumes_with_one_new_order(fed_system, desk):
    system, alpha = fed_system, desk["alpha"]
    engine = system.start_engine(PMS_CRASH_AT="replace.cancel_acked")
    run = start(system, "chase", alpha, side="buy", quantity="0.010", reprice_throttle_ms="100")
    quote_until(system, "60000.0", "60000.1", lambda: len(open_on_exchange(system)) == 1, "the first order")
    (first,) = open_on_exchange(system)
    # the reprice: its cancel is acknowledged, then the process dies before the replacement
    quote_until(system, "60010.0", "60010.1", lambda: engine.poll() is not None, "the crash point")
    assert engine.returncode == -signal.SIGKILL
    assert open_on_exchange(system) == [] and run_status(run) == "running"
    system.start_engine()
    quote_until(system, "60010.0", "60010.1", lambda: len(open_on_exchange(system)) == 1, "the resumed order")
    (resumed,) = open_on_exchange(system)
    assert resumed["clientOrderId"] != first["clientOrderId"] and D(resumed["price"]) == D("60010.0")
    assert_no_orphan_and_no_duplicate(system, run)
    # the ask trades through the resting buy
    quote_until(system, "60000.0", "60005.0", lambda: run_status(run) == "completed", "the chase to fill")
    assert position(alpha) == D("0.010") == system.exchange_position("BTCUSDT")
    assert open_on_exchange(system) == []


def test_a_chase_killed_after_its_replacement_was_sent_resumes_without_an_orphan(fed_system, desk):
    system, alpha = fed_system, desk["alpha"]
    engine = system.start_engine()
    run = start(system, "chase", alpha, side="buy", quantity="0.010", reprice_throttle_ms="100")
    quote_until(system, "60000.0", "60000.1", lambda: len(open_on_exchange(system)) == 1, "the first order")
    # the replacement reaches the exchange and is placed there, but its answer never comes back
    system.fault(kind="drop_response", path="/fapi/v1/order", method="POST", count=1, hang_ms=30_000)
    quote_until(system, "60010.0", "60010.1",
                lambda: any(D(o["price"]) == D("60010.0") for o in open_on_exchange(system)), "the replacement")
    engine.send_signal(signal.SIGKILL)
    engine.wait(timeout=10)
    system.start_engine()  # recovery queries the in-flight replacement by client id before the chase acts
    wait_until(lambda: Order.objects.filter(algo_run=run, status="unknown").count() == 0
               and Order.objects.filter(algo_run=run, status="pending_submit").count() == 0,
               what="the in-flight order proven")
    quote_until(system, "60010.0", "60010.1", lambda: len(open_on_exchange(system)) == 1, "one working order")
    assert_no_orphan_and_no_duplicate(system, run)
    quote_until(system, "60000.0", "60005.0", lambda: run_status(run) == "completed", "the chase to fill")
    assert position(alpha) == D("0.010") == system.exchange_position("BTCUSDT")
    assert open_on_exchange(system) == []


def test_a_twap_killed_between_its_checkpoint_and_a_lot_completes_exactly_its_total(fed_system, desk):
    system, alpha = fed_system, desk["alpha"]
    engine = system.start_engine(PMS_CRASH_AT="twap.checkpointed:3")  # dies before sending the third lot
    run = start(system, "twap", alpha, side="buy", quantity="0.050", lots="5", interval_s="1")
    quote_until(system, "60000.0", "60000.1", lambda: engine.poll() is not None, "the crash point")
    assert engine.returncode == -signal.SIGKILL
    filled_before = sum(Order.objects.filter(algo_run=run).values_list("filled_quantity", flat=True), D(0))
    assert D("0.020") <= filled_before < D("0.050")  # two checkpoints sent (lots due together merge)
    system.start_engine()
    quote_until(system, "60000.0", "60000.1", lambda: run_status(run) == "completed", "the TWAP to complete",
                timeout_s=30)
    fills = sum(Order.objects.filter(algo_run=run).values_list("filled_quantity", flat=True), D(0))
    assert fills == D("0.050") == position(alpha) == system.exchange_position("BTCUSDT")
    assert open_on_exchange(system) == []
