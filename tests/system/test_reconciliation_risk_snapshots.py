"""The beat's risk snapshot refresh: sub-accounts the engine has not snapshotted lately get one from the database."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.conf import settings

from core.clock import SYSTEM_CLOCK
from risk.domain.margin import Bracket
from risk.services import leverage_brackets_save
from risk.snapshots import snapshot_key
from risk.tasks import refresh_snapshots
from trading.domain.records import FillReport
from trading.domain.types import Side
from trading.models import Instrument, SubAccount
from trading.services import subaccount_deposit, subaccount_house
from trading.services.fills import fill_book

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def subs() -> dict[str, SubAccount]:
    Instrument.objects.create(symbol="BTCUSDT", base_asset="BTC", tick_size=D("0.10"), step_size=D("0.001"),
                              min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("100"))
    leverage_brackets_save(tables={"BTCUSDT": [Bracket(D(0), D("1000000000"), 125, D("0.004"), D(0))]})
    subaccount_house()
    made = {name: SubAccount.objects.create(name=name) for name in ("alpha", "beta", "gamma")}
    for sub in made.values():
        subaccount_deposit(sub_account_id=sub.pk, amount=D("10000"), actor="test")
    made["closed"] = SubAccount.objects.create(name="closed", status=SubAccount.Status.CLOSED)
    fill_book(report=FillReport("RS:1", made["alpha"].pk, "BTCUSDT", Side.BUY, D("60000"), D("0.010"),
                                SYSTEM_CLOCK.now() - timedelta(minutes=1)))
    return made


def test_missing_snapshots_are_computed_from_the_database_and_the_engines_are_kept(subs):
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = [snapshot_key(sub.pk) for sub in subs.values()]
    try:
        client.delete(*keys)
        client.set(snapshot_key(subs["gamma"].pk), json.dumps({"sub_account_id": subs["gamma"].pk, "mine": 1}))
        refresh_snapshots.apply()
        alpha = json.loads(client.get(snapshot_key(subs["alpha"].pk)) or b"{}")
        assert [(p["symbol"], D(p["quantity"])) for p in alpha["positions"]] == [("BTCUSDT", D("0.010"))]
        assert alpha["refreshed_by"] == "beat" and D(alpha["wallet_balance"]) == D("10000")
        assert 0 < client.ttl(snapshot_key(subs["alpha"].pk)) <= 30
        assert json.loads(client.get(snapshot_key(subs["beta"].pk)) or b"{}")["positions"] == []
        assert json.loads(client.get(snapshot_key(subs["gamma"].pk)) or b"{}") == {
            "sub_account_id": subs["gamma"].pk, "mine": 1}  # the engine's own is never overwritten
        assert client.get(snapshot_key(subs["closed"].pk)) is None
    finally:
        client.delete(*keys)
        client.close()


def test_with_redis_down_the_refresh_does_nothing_and_does_not_fail(subs):
    from risk.services_snapshot import risk_snapshots_refresh

    nowhere = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    result = risk_snapshots_refresh(client=nowhere)
    assert (result.written, result.kept, result.failed) == (0, 0, 0)
