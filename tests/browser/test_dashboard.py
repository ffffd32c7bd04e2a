"""An operator's path through the live dashboard in a real browser."""

from __future__ import annotations

import threading
from decimal import Decimal

import redis
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, login
from trading.events import account_group, event_publish
from trading.models import AlgoRun, Order, VirtualPosition
from trading.services.health import HEARTBEAT_KEY

D = Decimal


def publish(group: str, event: str, data: dict) -> None:
    """As the engine does; from another thread, since Playwright's loop runs in this one."""
    thread = threading.Thread(target=event_publish, args=(group, event, data))
    thread.start()
    thread.join(5)


def test_an_operator_logs_in_and_sees_the_desk_overview(page, browser_desk):
    page.goto("/")
    page.fill("input[name=username]", "ann")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("did not match")

    login(page)

    row = page.locator('tr[data-sub-account="alpha"]')
    expect(row).to_contain_text("10000.00")
    expect(row).to_contain_text("ACTIVE")
    page.screenshot(path=str(ARTIFACTS / "desk.png"), full_page=True)


def test_a_chase_refused_then_started_and_its_progress_and_position_arrive_without_a_reload(page, browser_desk):
    alpha = browser_desk["alpha"]
    login(page)
    page.click('tr[data-sub-account="alpha"] a')
    page.wait_for_url(f"**/accounts/{alpha.pk}/")
    page.evaluate("window.__noReload = true")  # survives only if the page is never reloaded

    page.fill("#launch-chase input[name=quantity]", "0.0105")
    page.click("#launch-chase button[type=submit]")
    expect(page.locator('[data-error="form"]')).to_contain_text("not a multiple of the step size 0.001")
    assert not AlgoRun.objects.exists()

    page.fill("#launch-chase input[name=quantity]", "0.010")
    page.click("#launch-chase button[type=submit]")
    expect(page.locator("[data-started]")).to_contain_text("Started chase")
    run = AlgoRun.objects.get()

    # What the engine would do (it is not running here): the run works, its order fills, the position opens.
    now = timezone.now()
    AlgoRun.objects.filter(pk=run.pk).update(status=AlgoRun.Status.RUNNING, started_at=now)
    Order.objects.create(client_order_id=f"PMS{alpha.code}_CHS_1", sub_account=alpha, symbol="BTCUSDT", side="buy",
                         order_type="limit", price=D("60000"), quantity=D("0.010"), filled_quantity=D("0.010"),
                         status="filled", origin="CHS", algo_run=run, created_at=now, updated_at=now)
    VirtualPosition.objects.create(sub_account=alpha, symbol="BTCUSDT", quantity=D("0.010"),
                                   average_entry=D("60000"), updated_at=now)
    publish(account_group(alpha.pk), "chase_progress", {"algo_run_id": run.pk})
    publish(account_group(alpha.pk), "fill", {"symbol": "BTCUSDT"})

    expect(page.locator(f'tr[data-algo="{run.pk}"]')).to_contain_text("0.01 / 0.010", timeout=5_000)
    expect(page.locator('#panel-positions tr[data-symbol="BTCUSDT"] .qty')).to_have_text("0.01", timeout=5_000)
    assert page.evaluate("window.__noReload") is True
    page.screenshot(path=str(ARTIFACTS / "account-after-chase.png"), full_page=True)


def test_the_page_shows_stale_without_an_engine_heartbeat_and_disconnected_when_the_socket_drops(
        page, browser_desk, web_server):
    redis.Redis.from_url(settings.REDIS_URL).delete(HEARTBEAT_KEY)
    login(page)

    expect(page.locator("#engine-stale")).to_contain_text("Stale: engine stale")
    expect(page.locator("#connection-banner")).to_be_hidden()

    web_server.process.terminate()  # the server goes away: the socket drops and cannot reconnect
    expect(page.locator("#connection-banner")).to_be_visible(timeout=5_000)
    expect(page.locator("#connection-banner")).to_contain_text("Disconnected")
    page.screenshot(path=str(ARTIFACTS / "stale-banner.png"), full_page=True)
