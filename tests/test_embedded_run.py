"""The newcomer's path: no DATABASE_URL / REDIS_URL → embedded PostgreSQL and Redis, demo desk, admin login.

This is `make run` minus the virtualenv step, in a scratch state folder, over real sockets.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def embedded_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["PMS_STATE_DIR"] = str(tmp_path / "state")
    Path(env["PMS_STATE_DIR"]).mkdir()
    env["PMS_WEB_PORT"] = str(free_port())
    yield env
    subprocess.run([sys.executable, "-m", "pms_site.embedded", "stop"], cwd=REPO, env=env, check=False,
                   capture_output=True, timeout=60)


def run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "pms_site.embedded", "exec", "--", *command], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")


def login(base: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    form = {"csrfmiddlewaretoken": token.group(1), "username": "operator", "password": password, "next": "/admin/"}
    return opener.open(f"{base}/admin/login/?next=/admin/", urllib.parse.urlencode(form).encode()).read().decode()


@pytest.mark.slow
def test_a_fresh_machine_gets_embedded_services_a_demo_desk_and_an_admin_login(embedded_env):
    started = time.monotonic()
    python = sys.executable
    run([python, "manage.py", "migrate", "--noinput"], embedded_env)
    out = run([python, "manage.py", "seed_demo"], embedded_env)
    match = re.search(r"Log in at (http://127.0.0.1:\d+)/ as operator / (\S+)", out)
    assert match is not None, out
    base, password = match.groups()
    web = subprocess.Popen(
        [python, "-m", "pms_site.embedded", "exec", "--", python, "-m", "uvicorn", "pms_site.asgi:application",
         "--host", "127.0.0.1", "--port", embedded_env["PMS_WEB_PORT"]],
        cwd=REPO, env=embedded_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"{base}/healthz")
        page = login(base, password)
        assert "Sub accounts" in page and "alpha" not in page  # the index lists models, not rows
        assert time.monotonic() - started < 60
        assert "postgres" in run([python, "-m", "pms_site.embedded", "env"], embedded_env)
    finally:
        web.terminate()
        web.wait(timeout=10)
    assert (Path(embedded_env["PMS_STATE_DIR"]) / "postgres" / "PG_VERSION").exists()
    assert (Path(embedded_env["PMS_STATE_DIR"]) / "redis" / "port").exists()
