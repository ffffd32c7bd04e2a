"""Fixtures for the reconciliation services: a real simulated exchange (one process per module, one fresh
exchange account per test), a desk in the test database, and the sweep pointed at both."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.clock import SYSTEM_CLOCK
from tests.system.harness import System, signed_request
from trading.models import Instrument, ReconciliationLog, SubAccount
from trading.reconciliation.config import ReconConfig
from trading.reconciliation.runs import sweep_run
from trading.services import subaccount_house
from trading.venues.budget import RequestBudget
from trading.venues.ccxt_client import VenueConfig
from trading.venues.ccxt_venue import CcxtVenue

D = Decimal
# No waiting in service tests: every difference is acted on at once unless a test says otherwise.
QUICK = ReconConfig(debounce_ms=0, activity_ms=0, in_flight_tolerance_ms=0, missing_order_misses=1)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = System(Path(tmp_path_factory.mktemp("sim")))
    try:
        running.start_simexchange()
        running.quote("BTCUSDT", "60000.0", "60000.1")
        running.quote("ETHUSDT", "3000.00", "3000.01")
        yield running
    finally:
        running.stop()


class Exchange:
    """One fresh exchange account on the simulated exchange, seen as its owner and as PMS."""

    def __init__(self, sim: System) -> None:
        self.sim = sim
        self.api_key, self.secret = secrets.token_hex(16), secrets.token_hex(16)
        created = sim.control("/_sim/accounts", {"api_key": self.api_key, "secret": self.secret,
                                                 "balance": "1000000"})
        self.account_id = int(created["account_id"])
        self.name = f"recon-{self.account_id}-{secrets.token_hex(3)}"

    def trade(self, side: str, quantity: str, client_order_id: str | None = None, symbol: str = "BTCUSDT",
              price: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"account_id": self.account_id, "symbol": symbol, "side": side.upper(),
                                "quantity": quantity}
        if client_order_id:
            body["client_order_id"] = client_order_id
        if price is not None:
            body.update(type="LIMIT", price=price)
        reply = self.sim.control("/_sim/trade", body)
        assert "code" not in reply, reply
        return dict(reply)

    def venue(self) -> CcxtVenue:
        config = VenueConfig(account=self.name, api_key=self.api_key, secret=self.secret, base_url=self.sim.sim_url,
                             timeout_ms=5_000, read_backoff_ms=20, read_backoff_cap_ms=100)
        return CcxtVenue(config, clock=SYSTEM_CLOCK, budget=RequestBudget(account=self.name, clock=SYSTEM_CLOCK))

    def signed(self, path: str, **params: Any) -> Any:
        return signed_request(self.sim.sim_url, self.api_key, self.secret, path, **params)

    def position(self, symbol: str = "BTCUSDT") -> Decimal:
        return sum((D(row["positionAmt"]) for row in self.signed("/fapi/v3/positionRisk", symbol=symbol)), D(0))


@pytest.fixture
def exchange(sim: System) -> Exchange:
    return Exchange(sim)


@pytest.fixture
def desk(db: None) -> dict[str, SubAccount]:
    Instrument.objects.create(symbol="BTCUSDT", base_asset="BTC", tick_size=D("0.10"), step_size=D("0.001"),
                              min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("100"))
    Instrument.objects.create(symbol="ETHUSDT", base_asset="ETH", tick_size=D("0.01"), step_size=D("0.001"),
                              min_qty=D("0.001"), max_qty=D("10000"), min_notional=D("20"))
    subs = {"house": subaccount_house()}
    subs.update({name: SubAccount.objects.create(name=name) for name in ("alpha", "beta")})
    return subs


class Events:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, group: str, event_type: str, data: dict[str, Any]) -> None:
        self.sent.append((group, event_type, data))

    def of(self, event_type: str, **match: Any) -> list[dict[str, Any]]:
        return [data for _, kind, data in self.sent
                if kind == event_type and all(data.get(k) == v for k, v in match.items())]


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def sweep(exchange: Exchange, events: Events) -> Callable[..., ReconciliationLog]:
    def run(kind: str, config: ReconConfig = QUICK, **kwargs: Any) -> ReconciliationLog:
        return sweep_run(kind=kind, account=exchange.name, venue_factory=exchange.venue, config=config,
                         publish=events, **kwargs)

    return run
