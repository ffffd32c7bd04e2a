"""Leverage brackets through ccxt from a real simexchange process (python -m simexchange), into the risk engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from core.clock import SYSTEM_CLOCK
from risk.models import LeverageBracketTable
from risk.runtime import risk_engine_start
from simexchange.core.brackets import DEFAULT_BRACKETS
from trading.tests.engine.harness import make_harness
from trading.venues.budget import RequestBudget, budget_redis
from trading.venues.ccxt_client import VenueConfig
from trading.venues.ccxt_venue import CcxtVenue

D = Decimal
REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8")
API_KEY, SECRET = "risk-bracket-key", "risk-bracket-secret"


@pytest.fixture
def simexchange(tmp_path: Path) -> Iterator[str]:
    """The simulated exchange as its own process on a free loopback port; its base URL."""
    with (tmp_path / "sim.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "simexchange", "--port", "0", "--symbols", "BTCUSDT,ETHUSDT", "--source",
             "synthetic", "--api-key", API_KEY, "--secret", SECRET, "--balance", "100000"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=log)
        try:
            assert process.stdout is not None
            config = json.loads(process.stdout.readline())
            yield config["urls"]["api"]["fapiPublic"].rsplit("/fapi", 1)[0]
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
async def venue(simexchange: str) -> AsyncIterator[CcxtVenue]:
    redis = budget_redis(REDIS_URL)
    account = f"risk-{uuid.uuid4().hex[:8]}"
    budget = RequestBudget(account=account, clock=SYSTEM_CLOCK, redis=redis)
    client = CcxtVenue(VenueConfig(account=account, api_key=API_KEY, secret=SECRET, base_url=simexchange,
                                   timeout_ms=5_000), clock=SYSTEM_CLOCK, budget=budget)
    try:
        yield client
    finally:
        await client.close()
        keys = [key async for key in redis.scan_iter(match=f"pms:budget:{account}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def as_rows(tiers: Any) -> list[tuple[Decimal, Decimal, int, Decimal, Decimal]]:
    return [(t.notional_floor, t.notional_cap, t.max_leverage if hasattr(t, "max_leverage") else t.initial_leverage,
             t.maint_margin_ratio, t.cum) for t in tiers]


async def test_ccxt_reads_the_simulated_exchanges_bracket_tables_exactly(venue: CcxtVenue):
    tables = await venue.leverage_brackets()

    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert as_rows(tables[symbol]) == as_rows(DEFAULT_BRACKETS[symbol])
        assert all(isinstance(t.cum, Decimal) and isinstance(t.maint_margin_ratio, Decimal) for t in tables[symbol])


@pytest.mark.django_db(transaction=True)
async def test_the_risk_engine_starts_on_the_brackets_a_real_venue_serves(venue: CcxtVenue):
    h = await make_harness()  # the order path stays in-process: only the brackets come over the wire here
    try:
        risk = await risk_engine_start(manager=h.manager, venue=venue, instruments={}, redis=None, clock=h.clock)
        stored = await sync_to_async(lambda: {row.symbol: row.to_domain() for row in
                                              LeverageBracketTable.objects.all()})()
    finally:
        await sync_to_async(connections.close_all)()
    assert as_rows(risk.brackets["BTCUSDT"]) == as_rows(DEFAULT_BRACKETS["BTCUSDT"])
    assert as_rows(stored["ETHUSDT"]) == as_rows(DEFAULT_BRACKETS["ETHUSDT"])
