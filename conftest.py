"""Shared pytest fixtures: seeded instruments and sub-accounts on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

D = Decimal


@pytest.fixture
def instruments(db: None) -> None:
    from trading.models import Instrument

    Instrument.objects.create(symbol="BTCUSDT", base_asset="BTC", tick_size=D("0.10"), step_size=D("0.001"),
                              min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("100"))
    Instrument.objects.create(symbol="ETHUSDT", base_asset="ETH", tick_size=D("0.01"), step_size=D("0.001"),
                              min_qty=D("0.001"), max_qty=D("10000"), min_notional=D("20"))


@pytest.fixture
def make_sub_account(db: None) -> Callable[..., object]:
    from trading.models import SubAccount

    def make(name: str = "alpha", status: str = SubAccount.Status.ACTIVE) -> SubAccount:
        return SubAccount.objects.create(name=name, status=status)

    return make
