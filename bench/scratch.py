"""Shared scaffolding of the database benchmarks: a scratch database, and figures printed and saved as JSON."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from django.db import connection, connections
from django.test.utils import setup_test_environment

RESULTS = Path(__file__).resolve().parent / "results"
T = TypeVar("T")


@contextmanager
def scratch_database() -> Iterator[None]:
    """A throwaway copy of the schema (PMS_TEST_DATABASE), dropped afterwards: never the real books."""
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def report(name: str, figures: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2))
    for key, value in figures.items():
        print(f"{key:>20}: {value}")


def run_bounded(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run without its final wait for cancelled tasks: redis-py's asyncio client can swallow a
    cancellation (redis/redis-py#2028), and a benchmark must stop by itself once its figures are in."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0.2))  # let well-behaved tasks finish cancelling
        loop.close()


def web_start(port: int, env: dict[str, str], log: Path, *extra_args: str) -> subprocess.Popen[bytes]:
    """The web process as the Procfile runs it (uvicorn, its DB pool), on loopback, once /healthz answers."""
    env = {**os.environ, "PMS_WEB_DB_POOL": os.environ.get("PMS_WEB_DB_POOL", "16"), "PMS_ALLOWED_HOSTS": "127.0.0.1",
           "PMS_LOG_FORMAT": "plain", **env}
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "uvicorn", "pms_site.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", *extra_args], cwd=Path(__file__).resolve().parents[1], env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit(f"uvicorn did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)
