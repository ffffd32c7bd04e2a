"""System-test fixtures: a demo desk in the test database, simexchange and the engine as real processes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from trading.models import Instrument, SubAccount
from trading.services import subaccount_deposit, subaccount_house

from .harness import System

D = Decimal


@pytest.fixture
def desk(transactional_db: None) -> dict[str, SubAccount]:
    Instrument.objects.create(symbol="BTCUSDT", base_asset="BTC", tick_size=D("0.10"), step_size=D("0.001"),
                              min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("100"))
    Instrument.objects.create(symbol="ETHUSDT", base_asset="ETH", tick_size=D("0.01"), step_size=D("0.001"),
                              min_qty=D("0.001"), max_qty=D("10000"), min_notional=D("20"))
    subaccount_house()
    subs = {name: SubAccount.objects.create(name=name) for name in ("alpha", "beta")}
    subs["frozen"] = SubAccount.objects.create(name="frozen", status=SubAccount.Status.FROZEN)
    for sub in subs.values():
        subaccount_deposit(sub_account_id=sub.pk, amount=D("100000"), actor="system-test")
    return subs


@pytest.fixture
def fed_system(desk: dict[str, SubAccount], tmp_path: Path) -> Iterator[System]:
    """simexchange and the feed worker, with a first quote; the test starts the engine as it needs it."""
    running = System(tmp_path)
    try:
        running.start_simexchange()
        running.start_feed()
        running.quote("BTCUSDT", "60000.0", "60000.1")
        running.quote("ETHUSDT", "3000.00", "3000.01")
        yield running
    finally:
        running.stop()


@pytest.fixture
def system(desk: dict[str, SubAccount], tmp_path: Path) -> Iterator[System]:
    running = System(tmp_path)
    try:
        running.start_simexchange()
        running.quote("BTCUSDT", "60000.0", "60000.1")
        running.quote("ETHUSDT", "3000.00", "3000.01")
        running.start_engine()
        yield running
    finally:
        running.stop()
