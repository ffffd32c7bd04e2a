"""Browser tests: the ASGI app under uvicorn (HTTP and websockets) on the test database, driven by Playwright
through Debian's Chromium. Skipped, with the reason, when /usr/bin/chromium is absent (CI installs it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.system.harness import free_port, test_database_url

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "browser"
D = Decimal

if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install -y --no-install-recommends chromium)",
                allow_module_level=True)


@pytest.fixture
def browser_desk(transactional_db: None) -> dict[str, Any]:
    from django.contrib.auth.models import User

    from trading.models import Instrument, SubAccount
    from trading.services import subaccount_deposit

    Instrument.objects.create(symbol="BTCUSDT", base_asset="BTC", tick_size=D("0.10"), step_size=D("0.001"),
                              min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("100"))
    ann = User.objects.create_user("ann", password="ann-password-1")
    alpha = SubAccount.objects.create(name="alpha")
    alpha.operators.add(ann)
    subaccount_deposit(sub_account_id=alpha.pk, amount=D("10000"), actor="test")
    return {"ann": ann, "alpha": alpha}


@dataclass
class WebServer:
    base: str
    process: subprocess.Popen[bytes]


@pytest.fixture
def web_env() -> dict[str, str]:
    """Extra environment for the web process (a test with a real engine shares its Redis prefix)."""
    return {}


@pytest.fixture
def web_server(browser_desk: dict[str, Any], tmp_path: Path, web_env: dict[str, str]) -> Iterator[WebServer]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": test_database_url(), "REDIS_URL": settings.REDIS_URL,
           "PMS_LOG_FORMAT": "plain", "PMS_ALLOWED_HOSTS": "127.0.0.1", **web_env}
    log = (tmp_path / "web.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "pms_site.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(f"web server did not start: {(tmp_path / 'web.log').read_text()}") from None
                time.sleep(0.1)
        yield WebServer(base, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def page(web_server: WebServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run"])
        try:
            context = browser.new_context(base_url=web_server.base, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(10_000)
            yield page
        finally:
            browser.close()


def login(page: Any, username: str = "ann", password: str = "ann-password-1") -> None:  # noqa: S107 - test user
    page.goto("/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
