"""Demand: the symbols with positions, live orders or active algos, plus the ones asked for in Redis."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from trading.marketdata.demand import database_demand, redis_demand
from trading.marketdata.redis_bus import demand_add
from trading.models import AlgoRun, Order, VirtualPosition
from trading.tests.marketdata.conftest import START_MS

D = Decimal
_ids = itertools.count()


def position(sub, symbol: str, quantity: str) -> None:
    VirtualPosition.objects.create(sub_account=sub, symbol=symbol, quantity=D(quantity), updated_at=timezone.now())


def order(sub, symbol: str, status: str) -> None:
    now = timezone.now()
    Order.objects.create(client_order_id=f"PMS{sub.code}_LMT_{next(_ids)}", sub_account=sub, symbol=symbol,
                         side="buy", order_type="limit", quantity=D("1"), price=D("10"), status=status, origin="LMT",
                         created_at=now, updated_at=now)


def algo(sub, status: str, **parameters: object) -> None:
    AlgoRun.objects.create(kind="twap", sub_account=sub, status=status, parameters=parameters)


@pytest.mark.django_db
def test_open_positions_live_orders_and_active_algos_are_in_demand(make_sub_account):
    sub = make_sub_account()
    position(sub, "BTCUSDT", "0.5")
    position(sub, "XRPUSDT", "-3")
    order(sub, "ETHUSDT", "new")
    order(sub, "ADAUSDT", "unknown")
    order(sub, "DOTUSDT", "cancel_pending")
    order(sub, "BNBUSDT", "pending_submit")
    order(sub, "LTCUSDT", "partially_filled")
    algo(sub, "running", symbol="SOLUSDT")
    algo(sub, "paused", symbols=["AVAXUSDT", "linkusdt"])
    assert database_demand() == {"BTCUSDT", "XRPUSDT", "ETHUSDT", "ADAUSDT", "DOTUSDT", "BNBUSDT", "LTCUSDT",
                                 "SOLUSDT", "AVAXUSDT", "LINKUSDT"}


@pytest.mark.django_db
def test_flat_positions_finished_orders_and_ended_algos_are_not_in_demand(make_sub_account):
    sub = make_sub_account()
    position(sub, "BTCUSDT", "0")
    for status in ("filled", "canceled", "rejected", "expired"):
        order(sub, "ETHUSDT", status)
    for status in ("pending", "completed", "cancelled", "failed"):
        algo(sub, status, symbol="SOLUSDT")
    algo(sub, "running", side="buy")  # no symbol at all
    algo(sub, "running", symbol="not a symbol!", symbols="BAD/ONE")
    assert database_demand() == set()


async def test_a_symbol_asked_for_in_redis_is_in_demand_until_its_ttl_passes(redis, keys):
    await demand_add(redis, keys, ["BTCUSDT", "ethusdt"], now_ms=START_MS, ttl_ms=60_000)
    assert await redis_demand(redis, keys, now_ms=START_MS + 59_999) == {"BTCUSDT", "ETHUSDT"}
    await demand_add(redis, keys, ["BTCUSDT"], now_ms=START_MS + 30_000, ttl_ms=60_000)  # a refresh
    assert await redis_demand(redis, keys, now_ms=START_MS + 60_001) == {"BTCUSDT"}
    assert await redis.zcard(keys.demand) == 1  # the expired member was pruned
