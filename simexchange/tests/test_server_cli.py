"""`python -m simexchange` prints a usable ccxt config, serves on loopback and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

pytestmark = pytest.mark.timeout(30)
REPO = Path(__file__).resolve().parents[2]


async def test_cli_prints_the_ccxt_config_and_serves_it() -> None:
    args = ["--port", "0", "--symbols", "BTCUSDT,ETHUSDT", "--speed", "5", "--seed", "4"]
    args += ["--api-key", "cliKey", "--secret", "cliSecret", "--balance", "2500"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simexchange", *args, cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        config = json.loads(await asyncio.wait_for(proc.stdout.readline(), 20))
        assert config["apiKey"] == "cliKey" and config["secret"] == "cliSecret"
        assert config["options"]["fetchCurrencies"] is False
        base = config["urls"]["api"]["fapiPublic"].removesuffix("/fapi/v1")
        assert base.startswith("http://127.0.0.1:")
        assert config["urls"]["api"]["ws"]["linear"] == "ws" + base.removeprefix("http") + "/ws"
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/fapi/v1/exchangeInfo") as resp:
                symbols = [s["symbol"] for s in (await resp.json())["symbols"]]
            async with http.get(base + "/_sim/state") as resp:
                state = await resp.json()
        assert symbols == ["BTCUSDT", "ETHUSDT"]
        assert state["accounts"] == [{"account_id": 1, "api_key": "cliKey", "wallet": "2500"}]
        assert state["feed"]["paused"] is False
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 10)
    assert code == 0


@pytest.mark.parametrize(
    "args", [["--symbols", "FOOUSDT"], ["--speed", "fast"], ["--source", "/no/such/capture.gz"], ["--balance", "x"]]
)
async def test_cli_refuses_bad_arguments(args: list[str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simexchange", *args, cwd=REPO, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert stderr.strip()
