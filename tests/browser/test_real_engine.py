"""End to end in a real browser with the real engine: simexchange, the feed and the engine as processes
(tests/system/harness.py), uvicorn on the same database and Redis, Chromium driving the pages.

An operator logs in, opens a sub-account, starts a chase with the launcher, watches its order work and its
progress bar fill as simexchange trades through it, and sees the position and the fill appear — all without
a reload. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, login
from tests.system.harness import System, wait_until
from trading.models import AlgoRun, Instrument, Order, VirtualPosition

D = Decimal
pytestmark = pytest.mark.slow


@pytest.fixture
def engine_system(browser_desk: dict[str, Any], tmp_path: Path) -> Iterator[System]:
    from trading.services import subaccount_house

    Instrument.objects.create(symbol="ETHUSDT", base_asset="ETH", tick_size=D("0.01"), step_size=D("0.001"),
                              min_qty=D("0.001"), max_qty=D("10000"), min_notional=D("20"))
    subaccount_house()
    running = System(tmp_path)
    try:
        running.start_simexchange()
        running.start_feed()
        running.quote("BTCUSDT", "60000.0", "60000.1")
        running.quote("ETHUSDT", "3000.00", "3000.01")
        running.start_engine()
        yield running
    finally:
        running.stop()


@pytest.fixture
def web_env(engine_system: System) -> dict[str, str]:
    """The web process reads the engine's heartbeat, the feed's prices and the channel layer where they write."""
    return {"PMS_REDIS_PREFIX": engine_system.redis_prefix}


def quote_until(system: System, bid: str, ask: str, condition: Any, what: str, timeout_s: float = 20) -> Any:
    def sent_and_checked() -> Any:
        if condition():
            return True
        system.quote("BTCUSDT", bid, ask)
        return condition()

    return wait_until(sent_and_checked, timeout_s, what)


def test_a_chase_started_in_the_browser_works_fills_and_moves_the_position_live(page, browser_desk, engine_system):
    alpha = browser_desk["alpha"]
    login(page)
    expect(page.locator("#engine-stale")).to_have_count(0, timeout=10_000)  # the real engine's heartbeat
    page.click('tr[data-sub-account="alpha"] a')
    page.wait_for_url(f"**/accounts/{alpha.pk}/")
    page.evaluate("window.__noReload = true")  # survives only if the page is never reloaded

    page.fill("#launch-chase input[name=quantity]", "0.010")
    page.select_option("#launch-chase select[name=stalk_mode]", "maintain")
    page.click("#launch-chase button[type=submit]")
    expect(page.locator("[data-started]")).to_contain_text("Started chase")
    run = AlgoRun.objects.get()

    # The engine takes the run and rests a buy at the bid: the page shows it working, with no fill yet.
    quote_until(engine_system, "60000.0", "60000.1", lambda: Order.objects.filter(algo_run=run, status="new").exists(),
                "the chase's order")
    row = page.locator(f'tr[data-algo="{run.pk}"]')
    expect(row).to_have_attribute("data-status", "running", timeout=10_000)
    expect(page.locator("#panel-orders")).to_contain_text("BTCUSDT", timeout=10_000)
    expect(row).to_contain_text("0 / 0.010")
    page.screenshot(path=str(ARTIFACTS / "real-engine-chase-working.png"), full_page=True)

    # simexchange's ask trades through the resting buy: the fill is booked and the chase completes.
    quote_until(engine_system, "60000.0", "60000.0", lambda: AlgoRun.objects.get(pk=run.pk).status == "completed",
                "the chase to fill")
    booked = VirtualPosition.objects.get(sub_account=alpha, symbol="BTCUSDT").quantity
    assert booked == D("0.010") == engine_system.exchange_position("BTCUSDT")

    expect(row).to_have_attribute("data-status", "completed", timeout=10_000)
    expect(row).to_contain_text("0.01 / 0.010")
    expect(page.locator('#panel-positions tr[data-symbol="BTCUSDT"] .qty')).to_have_text("0.01", timeout=10_000)
    expect(page.locator("#panel-fills")).to_contain_text("BTCUSDT", timeout=10_000)
    expect(page.locator("#panel-orders")).to_contain_text("No open order", timeout=10_000)
    assert page.evaluate("window.__noReload") is True
    page.screenshot(path=str(ARTIFACTS / "real-engine-chase-filled.png"), full_page=True)
