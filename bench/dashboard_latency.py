"""From a fill at simexchange to the DOM update in N open dashboard pages: p50 / p95 / max.

Usage: .venv/bin/python bench/dashboard_latency.py [--pages 20] [--fills 10]
A scratch database (PMS_TEST_DATABASE); simexchange, the feed and the engine as processes (tests/system/harness.py);
uvicorn serving the pages; Debian's Chromium (Playwright) with N tabs on the sub-account page. Each fill is a
market order sent through the engine's command path; its latency in a page is the time the page's fills panel
gained the row (a MutationObserver, Date.now()) minus the fill's execution time at simexchange (same machine
clock). Prints the figures and writes bench/results/dashboard_latency.json. Target: p95 <= 100 ms with 20 pages.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop in this thread

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from bench.scratch import report, scratch_database, web_start  # noqa: E402

D = Decimal
CHROMIUM = "/usr/bin/chromium"
OBSERVER = """
window.__fills = [];
new MutationObserver(() => {
  const rows = document.querySelectorAll('#panel-fills tbody tr').length;
  const last = window.__fills.length ? window.__fills[window.__fills.length - 1][0] : null;
  if (rows !== last) window.__fills.push([rows, Date.now()]);
}).observe(document, {subtree: true, childList: true});
"""


def seed() -> Any:
    from django.contrib.auth.models import User

    from trading.models import Instrument, SubAccount
    from trading.services import subaccount_deposit, subaccount_house

    Instrument.objects.create(symbol="BTCUSDT", base_asset="BTC", tick_size=D("0.10"), step_size=D("0.001"),
                              min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("100"))
    subaccount_house()
    user = User.objects.create_user("bench", password="bench-password-1")
    alpha = SubAccount.objects.create(name="alpha")
    alpha.operators.add(user)
    subaccount_deposit(sub_account_id=alpha.pk, amount=D("1000000"), actor="bench")
    return alpha


def start_web(port: int, prefix: str, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    return web_start(port, {"DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL,
                            "PMS_REDIS_PREFIX": prefix}, log)


def _close_other_sessions() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def measure(base: str, alpha: Any, system: Any, pages_count: int, fills: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    from tests.system.harness import wait_until
    from trading.models import Fill

    latencies: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-background-timer-throttling", "--disable-renderer-backgrounding"])
        try:
            context = browser.new_context(base_url=base)
            login = context.new_page()
            login.goto("/login/")
            login.fill("input[name=username]", "bench")
            login.fill("input[name=password]", "bench-password-1")
            login.click("button[type=submit]")
            login.wait_for_url("**/")
            context.add_init_script(OBSERVER)
            pages = [context.new_page() for _ in range(pages_count)]
            for page in pages:
                page.goto(f"/accounts/{alpha.pk}/")
                page.wait_for_selector("#panel-fills[data-version]")
            time.sleep(2)  # every socket has its snapshot
            for n in range(1, fills + 1):
                before = Fill.objects.count()
                system.command("place_order", sub_account=alpha.pk, symbol="BTCUSDT", side="buy" if n % 2 else "sell",
                               quantity="0.002")
                def newest(count: int = before) -> Any:
                    return Fill.objects.order_by("-id").first() if Fill.objects.count() > count else None

                fill = wait_until(newest, 15, "the fill")
                executed_ms = fill.executed_at.timestamp() * 1000
                rows = min(Fill.objects.filter(sub_account=alpha).count(), 30)
                for page in pages:
                    page.wait_for_function(f"window.__fills.some(f => f[0] >= {rows})", timeout=15_000)
                    seen = page.evaluate(f"window.__fills.find(f => f[0] >= {rows})[1]")
                    latencies.append(seen - executed_ms)
                time.sleep(0.3)
        finally:
            browser.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--fills", type=int, default=10)
    args = parser.parse_args()
    from tests.system.harness import System, free_port, test_database_url

    with scratch_database(), tempfile.TemporaryDirectory() as workdir:
        alpha = seed()
        system = System(Path(workdir))
        web = None
        try:
            system.start_simexchange(symbols="BTCUSDT")
            system.start_feed()
            system.quote("BTCUSDT", "60000.0", "60000.1")
            system.start_engine()
            port = free_port()
            web = start_web(port, system.redis_prefix, test_database_url(), Path(workdir) / "web.log")
            latencies = measure(f"http://127.0.0.1:{port}", alpha, system, args.pages, args.fills)
        finally:
            if web is not None:
                web.terminate()
                web.wait(timeout=10)
            system.stop()
            _close_other_sessions()  # Playwright's greenlet held its own connection: the scratch database must drop
        report("dashboard_latency", {
            "pages": args.pages, "fills": args.fills, "samples": len(latencies),
            "p50_ms": round(percentile(latencies, 50), 1), "p95_ms": round(percentile(latencies, 95), 1),
            "max_ms": round(max(latencies), 1), "target_p95_ms": 100, "cpus": os.cpu_count(),
            "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()]})


if __name__ == "__main__":
    main()
