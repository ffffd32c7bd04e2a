"""Order sync against the simulated exchange: orphans cancelled, missing orders resolved by client id."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from trading.models import AlgoRun, Fill, Order, ReconciliationLog, VirtualPosition
from trading.reconciliation.config import ReconConfig

D = Decimal
KIND = ReconciliationLog.Kind.ORDER_SYNC
LIMIT_BELOW = "55000.0"  # rests: the book is at 60000


def row(sub, unique: str, *, status: str = "new", minutes_ago: int = 1, algo: AlgoRun | None = None,
        quantity: str = "0.010", price: str | None = LIMIT_BELOW) -> Order:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return Order.objects.create(client_order_id=f"PMS{sub.code}_LMT_{unique}", sub_account=sub, symbol="BTCUSDT",
                                side="buy", order_type="limit" if price else "market", price=price and D(price),
                                quantity=D(quantity), status=status, origin="LMT", algo_run=algo, created_at=at,
                                updated_at=at)


def open_ids(exchange) -> set[str]:
    return {o["clientOrderId"] for o in exchange.signed("/fapi/v1/openOrders")}


def test_a_pms_order_nobody_here_knows_is_cancelled_as_an_orphan(desk, exchange, sweep, events):
    orphan = f"PMS{desk['alpha'].code}_CHS_ghost1"
    exchange.trade("buy", "0.010", orphan, price=LIMIT_BELOW)
    log = sweep(KIND)
    assert open_ids(exchange) == set()
    assert log.actions == [{"action": "orphan_cancel", "client_order_id": orphan, "symbol": "BTCUSDT",
                            "result": "cancelled"}]
    assert events.of("risk_alert", kind="orphan_order", client_order_id=orphan)


def test_an_order_of_a_finished_algo_is_cancelled_but_a_live_one_is_left(desk, exchange, sweep):
    dead = AlgoRun.objects.create(kind="chase", sub_account=desk["alpha"], status=AlgoRun.Status.FAILED)
    alive = AlgoRun.objects.create(kind="chase", sub_account=desk["beta"], status=AlgoRun.Status.RUNNING)
    died, living = row(desk["alpha"], "dead1", algo=dead), row(desk["beta"], "live1", algo=alive)
    for order in (died, living):
        exchange.trade("buy", "0.010", order.client_order_id, price=LIMIT_BELOW)
    sweep(KIND)
    assert open_ids(exchange) == {living.client_order_id}


def test_orders_of_other_clients_are_reported_not_cancelled(desk, exchange, sweep):
    exchange.trade("buy", "0.010", "manual-by-desk-head", price=LIMIT_BELOW)
    log = sweep(KIND)
    assert open_ids(exchange) == {"manual-by-desk-head"} and log.actions == []
    assert log.found[0]["kind"] == "foreign_open_order"


def test_an_order_filled_while_its_events_were_lost_is_booked_after_the_misses(desk, exchange, sweep):
    order = row(desk["alpha"], "lost1", price=None)
    exchange.trade("buy", "0.010", order.client_order_id)  # fills at once; nobody hears about it
    config = ReconConfig(debounce_ms=0, activity_ms=0, missing_order_misses=2)
    first = sweep(KIND, config=config)
    assert Fill.objects.count() == 0 and first.outcome == "tolerated"
    sweep(KIND, config=config)
    fill = Fill.objects.get()
    order.refresh_from_db()
    assert order.status == "filled" and order.filled_quantity == D("0.010")
    assert fill.trade_key.startswith("BTCUSDT:") and fill.order_id == order.pk and not fill.is_synthetic
    assert VirtualPosition.objects.get(sub_account=desk["alpha"]).quantity == D("0.010") == exchange.position()


def test_an_ambiguous_order_that_never_reached_the_exchange_is_rejected(desk, exchange, sweep):
    order = row(desk["alpha"], "amb1", status="unknown")
    sweep(KIND, config=ReconConfig(debounce_ms=0, activity_ms=0, missing_order_misses=5))  # no waiting for misses
    order.refresh_from_db()
    assert order.status == "rejected" and "not found on the exchange" in order.reject_reason


def test_an_ambiguous_order_found_open_is_marked_open(desk, exchange, sweep):
    order = row(desk["alpha"], "amb2", status="unknown")
    exchange.trade("buy", "0.010", order.client_order_id, price=LIMIT_BELOW)
    sweep(KIND)
    order.refresh_from_db()
    assert order.status == "new" and order.exchange_order_id
    assert open_ids(exchange) == {order.client_order_id}


def test_an_order_touched_in_the_last_seconds_is_left_to_the_engine(desk, exchange, sweep):
    order = row(desk["alpha"], "fresh1", status="unknown", minutes_ago=0)
    log = sweep(KIND, config=ReconConfig(debounce_ms=0, activity_ms=5_000))
    order.refresh_from_db()
    assert order.status == "unknown" and log.outcome == "matched"
