"""Reconciliation by real Celery worker and beat processes against the engine and the simulated exchange."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal

import pytest
import redis

from trading.models import Fill, Order, ReconciliationLog

from .harness import GroupListener, System, celery_log, sim_account_id, start_celery, virtual_net, wait_until

D = Decimal
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
KIND = ReconciliationLog.Kind


def open_orders(system: System) -> list[dict]:
    return list(system.signed("/fapi/v1/openOrders"))


@pytest.fixture
def celery(system: System) -> Iterator[System]:
    start_celery(system, "worker", "worker")
    start_celery(system, "beat", "beat")
    yield system
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    client.delete(*(client.keys(f"pms:recon:{system.account}:*") or [b"none"]))
    client.close()


def logs_with(kind: str, action: str) -> list[ReconciliationLog]:
    return [log for log in ReconciliationLog.objects.filter(kind=kind)
            if any(item.get("action") == action for item in log.actions)]


def test_a_fill_whose_user_events_were_dropped_is_booked_by_the_order_sync(celery: System, desk):
    celery.fault(kind="ud_drop")  # the engine hears nothing from now on
    placed = celery.command("place_order", sub_account="alpha", symbol="BTCUSDT", side="buy", quantity="0.010",
                            price="59990.0")
    client_order_id = placed.result["client_order_id"]
    celery.quote("BTCUSDT", "59980.0", "59980.1")  # trades through the resting buy
    wait_until(lambda: Order.objects.get(client_order_id=client_order_id).status == "filled", timeout_s=20,
               what="the order sync to resolve the order:\n" + celery_log(celery, "worker"))
    fill = Fill.objects.get(client_order_id=client_order_id)
    trade_ids = {str(t["id"]) for t in celery.signed("/fapi/v1/userTrades", symbol="BTCUSDT")}
    assert fill.trade_key.split(":")[1] in trade_ids and not fill.is_synthetic
    assert virtual_net() == celery.exchange_position("BTCUSDT") == D("0.010")
    assert Fill.objects.count() == 1


@pytest.mark.parametrize("client_order_id", ["web_manual_1", "autoclose-1700000000123"], ids=["manual", "liquidation"])
def test_a_trade_nobody_here_placed_is_booked_to_the_house_with_an_alert(celery: System, desk, client_order_id):
    """RELIABILITY #11: with the user stream silent, the position sync finds it; sums match; alert raised."""
    celery.fault(kind="ud_drop")
    alerts = GroupListener("risk")
    celery.control("/_sim/trade", {"account_id": sim_account_id(celery), "symbol": "BTCUSDT", "side": "SELL",
                                   "quantity": "0.020", "client_order_id": client_order_id})
    fill = wait_until(lambda: Fill.objects.filter(client_order_id=client_order_id).first(), timeout_s=20,
                      what="the external trade booked:\n" + celery_log(celery, "worker"))
    assert fill.sub_account.is_house and not fill.is_synthetic
    assert virtual_net() == celery.exchange_position("BTCUSDT") == D("-0.020")
    alerts.wait_for(lambda e: e["event"] == "risk_alert" and e["data"].get("kind") == "external_fill"
                    and e["data"].get("trade_key") == fill.trade_key)


def test_a_pms_order_left_on_the_exchange_by_a_dead_algo_is_cancelled_as_an_orphan(celery: System, desk):
    orphan = f"PMS{desk['alpha'].code}_CHS_deadalgo1"
    celery.control("/_sim/trade", {"account_id": sim_account_id(celery), "symbol": "BTCUSDT", "side": "BUY",
                                   "quantity": "0.010", "type": "LIMIT", "price": "55000.0",
                                   "client_order_id": orphan})
    assert [o["clientOrderId"] for o in open_orders(celery)] == [orphan]
    wait_until(lambda: logs_with(KIND.ORDER_SYNC, "orphan_cancel"), timeout_s=20,
               what="the orphan cancelled:\n" + celery_log(celery, "worker"))
    assert open_orders(celery) == []
