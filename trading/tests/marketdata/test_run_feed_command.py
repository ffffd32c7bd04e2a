"""`manage.py run_feed` as a real process: streams a symbol demanded in Redis, and exits cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from core.clock import SYSTEM_CLOCK
from trading.marketdata.codec import decode_batch
from trading.marketdata.redis_bus import demand_add, guarded
from trading.tests.marketdata.conftest import SIM_KEY, SIM_SECRET
from trading.tests.marketdata.fakes import quoting

pytestmark = pytest.mark.timeout(60)
D = Decimal
ROOT = Path(__file__).resolve().parents[3]


async def test_the_feed_process_publishes_demanded_quotes_and_stops_on_sigterm(sim, redis, keys):
    await demand_add(redis, keys, ["BTCUSDT"], now_ms=SYSTEM_CLOCK.now_ms())
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.quotes_channel)
    env = {**os.environ, "PMS_VENUE": "simulated", "PMS_SIMEXCHANGE_URL": sim.base_url,
           "PMS_EXCHANGE_API_KEY": SIM_KEY, "PMS_EXCHANGE_API_SECRET": SIM_SECRET,
           "PMS_EXCHANGE_ACCOUNT": f"{keys.prefix}-acct"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "manage.py", "run_feed", "--prefix", keys.prefix, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        async with quoting(sim, "BTCUSDT", "64010.5", "64010.6"), asyncio.timeout(30):
            while True:
                message = await guarded(pubsub.get_message(ignore_subscribe_messages=True, timeout=1))
                if message is not None and any(getattr(e, "bid_price", None) == D("64010.5")
                                               for e in decode_batch(message["data"])):
                    break
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert b"feed worker stopped" in stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await pubsub.aclose()
