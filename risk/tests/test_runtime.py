"""The risk engine's runtime against PostgreSQL and Redis: start-up loading, persistence across a restart,
the Redis snapshot writer, state changes by NOTIFY, and the selectors' database fallback."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections

from core.clock import VirtualClock
from risk import selectors
from risk.domain.margin import Bracket
from risk.domain.states import Scope, TradingState, sub_account_scope
from risk.engine import RiskEngine
from risk.models import EquityState, LeverageBracketTable, MarkHistory, RiskLimit
from risk.runtime import (
    persist_risk_state,
    redis_snapshots,
    risk_engine_start,
    risk_persist_once,
    watch_risk_changes,
)
from risk.services import breaker_trip, leverage_brackets_save, mark_history_import
from risk.snapshots import SNAPSHOT_TTL_S, snapshot_key
from trading.marketdata.redis_bus import make_redis
from trading.models import SubAccount, VirtualPosition
from trading.services import subaccount_deposit
from trading.tests.engine.harness import Harness, make_harness

D = Decimal
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8")
pytestmark = pytest.mark.django_db(transaction=True)
NOW_MS = 1_700_000_000_000  # the harness clock: 2023-11-14 22:13:20 UTC
TODAY = datetime.fromtimestamp(NOW_MS / 1000, tz=UTC).date()
BTC = (Bracket(D(0), D(50000), 125, D("0.004"), D(0)), Bracket(D(50000), D(250000), 100, D("0.005"), D(50)),
       Bracket(D(250000), D(3000000), 50, D("0.01"), D(1300)))


def database_url() -> str:
    params = connection.settings_dict
    return (f"postgresql://{params['USER'] or 'postgres'}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
            f"/{params['NAME']}")


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


@pytest.fixture(autouse=True)
async def close_thread_connections() -> AsyncIterator[None]:
    """sync_to_async's thread holds its own connection: close it so the test database can be dropped."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    client = make_redis(REDIS_URL)
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match="pms:risk:snapshot:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def desk(instruments, make_sub_account) -> SubAccount:
    """A sub-account with 10,000 USDT, long 0.5 BTC at 60,000, whose equity peaked at 15,000 earlier today."""
    sub = make_sub_account()
    subaccount_deposit(sub_account_id=sub.pk, amount=D(10000), actor="ops")
    VirtualPosition.objects.create(sub_account=sub, symbol="BTCUSDT", quantity=D("0.5"), average_entry=D(60000),
                                   realized_pnl=0, fees=0, updated_at=datetime.now(tz=UTC))
    EquityState.objects.create(sub_account=sub, day=TODAY, day_open_equity=D(12000), peak_equity=D(15000),
                               updated_at=datetime.now(tz=UTC))
    RiskLimit.objects.create(sub_account=sub, max_daily_loss=D(1000))
    closes = [D(60000), D(57000), D(59850), D(56857.5)]  # -5 %, +5 %, -5 % on consecutive days
    mark_history_import(symbol="BTCUSDT", closes=[
        (int(datetime.combine(TODAY - timedelta(days=4 - i), datetime.min.time(), tzinfo=UTC).timestamp() * 1000)
         + 23 * 3_600_000, close) for i, close in enumerate(closes)])
    return sub


async def started(h: Harness, redis: Any) -> RiskEngine:
    instruments = {rules.symbol: rules for rules in await h.venue.instruments()}
    return await risk_engine_start(manager=h.manager, venue=h.venue, instruments=instruments, redis=redis,
                                   clock=h.clock, publish=h.manager.publish)


async def test_start_loads_the_books_the_venues_brackets_and_the_equity_saved_before_a_restart(desk, redis):
    h = await make_harness()
    risk = await started(h, redis)
    sub = risk.subs[desk.pk]
    assert sub.wallet == D(10000) and sub.book.positions == {"BTCUSDT": D("0.5")}
    assert await sync_to_async(LeverageBracketTable.objects.filter(symbol="BTCUSDT").exists)()
    assert (sub.equity.day_open, sub.equity.peak) == (D(12000), D(15000))
    assert len(risk.returns["BTCUSDT"]) == 3

    risk.on_quote("BTCUSDT", mark=D(60000))  # equity 10,000: 2,000 below the day's saved opening
    await risk.settle()

    assert risk.states[sub_account_scope(desk.pk)].state is TradingState.REDUCING
    raw = await redis.get(snapshot_key(desk.pk))
    snapshot = json.loads(raw)
    assert 0 < await redis.ttl(snapshot_key(desk.pk)) <= SNAPSHOT_TTL_S
    assert (D(snapshot["day_open_equity"]), D(snapshot["equity_peak"])) == (D(12000), D(15000))
    assert D(snapshot["var_1d"]) == D("1500.00") and snapshot["var_days"] == 3  # 5 % of 30,000 notional


async def test_the_throttled_writer_saves_marks_and_moved_equity_once(desk, redis):
    h = await make_harness()
    risk = await started(h, redis)
    risk.on_quote("BTCUSDT", mark=D(64000))  # equity 12,000: same day, the saved peak of 15,000 stays
    risk.on_quote("ETHUSDT", mark=D(3100))
    risk.subs[desk.pk].equity.record(h.clock.now_ms(), D(16000))  # a new peak
    assert await risk_persist_once(risk) == 1
    assert await risk_persist_once(risk) == 0  # nothing moved since

    row = await sync_to_async(EquityState.objects.get)(sub_account=desk)
    assert (row.day, row.day_open_equity, row.peak_equity) == (TODAY, D(12000), D(16000))
    marks = await sync_to_async(lambda: dict(MarkHistory.objects.filter(
        hour=datetime(2023, 11, 14, 22, tzinfo=UTC)).values_list("symbol", "mark_price")))()
    assert marks == {"BTCUSDT": D(64000), "ETHUSDT": D(3100)}

    restarted = await started(await make_harness(), redis)
    assert restarted.subs[desk.pk].equity.peak == D(16000)


async def test_the_snapshot_writer_sets_a_30_second_ttl_and_shrugs_off_redis_being_down(redis):
    await redis_snapshots(redis)([(7, {"margin_ratio": "0.5"}), (8, {"margin_ratio": "0.1"})])
    assert json.loads(await redis.get(snapshot_key(7))) == {"margin_ratio": "0.5"}
    assert 0 < await redis.ttl(snapshot_key(8)) <= 30
    down = make_redis(closed_port_url(), timeout_s=0.2)
    try:
        await redis_snapshots(down)([(7, {"margin_ratio": "0.9"})])  # no exception: the DB fallback remains
    finally:
        await down.aclose()


async def test_a_manual_trip_reaches_the_running_engine_by_notify_and_halts_its_scope(desk, redis):
    h = await make_harness()
    stopped: list[Scope] = []

    halted = asyncio.Event()

    async def stop_algos(scope: Scope) -> None:  # the last effect of a HALTED reload
        stopped.append(scope)
        halted.set()

    instruments = {rules.symbol: rules for rules in await h.venue.instruments()}
    risk = await risk_engine_start(manager=h.manager, venue=h.venue, instruments=instruments, redis=None,
                                   clock=h.clock, stop_algos=stop_algos)
    watcher = asyncio.create_task(watch_risk_changes(risk, database_url=database_url(), poll_interval_s=60))
    try:
        await asyncio.sleep(0.5)  # LISTEN is on
        await sync_to_async(breaker_trip)(scope=sub_account_scope(desk.pk), reason="desk review", actor="ops")
        async with asyncio.timeout(10):  # well before the 60 s poll: only the NOTIFY can wake it this soon
            await halted.wait()
        assert risk.states[sub_account_scope(desk.pk)].state is TradingState.HALTED
        assert stopped == [sub_account_scope(desk.pk)]
        denied = risk.check(_buy(desk.pk), reference_price=D(60000))
        assert denied is not None and "desk review" in denied.reason
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


def _buy(sub_account_id: int) -> Any:
    from trading.domain.records import OrderIntent
    from trading.domain.types import OrderType, Side

    return OrderIntent(sub_account_id, "BTCUSDT", Side.BUY, OrderType.MARKET, D("0.001"))


def test_the_snapshot_read_falls_back_to_the_database_when_redis_is_down_or_empty(desk):
    leverage_brackets_save(tables={"BTCUSDT": BTC})
    clock = VirtualClock(NOW_MS)
    for redis_url in (closed_port_url(), REDIS_URL):  # down, then up with no snapshot written
        data = selectors.risk_snapshot(sub_account_id=desk.pk, redis_url=redis_url, clock=clock)
        assert data["source"] == "database"
        assert data["state"] == "active" and D(data["wallet_balance"]) == D(10000)
        # no mark in the price cache: the entry is the mark; 30,000 notional in the first tier
        assert D(data["margin_ratio"]) == D(30000) * D("0.004") / D(10000)
        [position] = data["positions"]
        assert D(position["liquidation_price"]) == (D(10000) - D("0.5") * D(60000)) / (D("0.5") * D("0.004")
                                                                                       - D("0.5"))
        assert (D(data["day_open_equity"]), D(data["equity_peak"])) == (D(12000), D(15000))
        assert D(data["var_1d"]) == D(1500)


def test_the_summary_reads_the_engines_snapshot_first(desk):
    import redis as redis_sync

    client = redis_sync.Redis.from_url(REDIS_URL)
    try:
        client.set(snapshot_key(desk.pk), json.dumps({
            "sub_account_id": desk.pk, "state": "reducing", "margin_ratio": "0.42", "at_ms": NOW_MS,
            "positions": [{"symbol": "BTCUSDT", "liquidation_price": "40000.5"}]}), ex=30)
        summary = selectors.risk_summary(sub_account_id=desk.pk, redis_url=REDIS_URL)
        both = selectors.risk_snapshots(sub_account_ids=[desk.pk], redis_url=REDIS_URL)
    finally:
        client.delete(snapshot_key(desk.pk))
    assert summary["source"] == "engine" and summary["state"] == "reducing" and summary["margin_ratio"] == "0.42"
    assert summary["liquidation_prices"] == {"BTCUSDT": "40000.5"}
    assert both[desk.pk]["source"] == "engine"


def test_a_position_in_a_symbol_without_stored_brackets_is_unavailable_not_a_guess(desk):
    with pytest.raises(LookupError, match="no leverage brackets stored for BTCUSDT"):
        selectors.risk_snapshot(sub_account_id=desk.pk, redis_url=closed_port_url())
    [data] = selectors.risk_snapshots(sub_account_ids=[desk.pk], redis_url=closed_port_url()).values()
    assert data["source"] == "unavailable" and "no leverage brackets stored for BTCUSDT" in data["note"]
    summary = selectors.risk_summary(sub_account_id=desk.pk, redis_url=closed_port_url())
    assert summary["source"] == "unavailable" and summary["margin_ratio"] is None and summary["note"]



async def test_the_writer_loop_saves_every_round_until_cancelled(desk, redis):
    h = await make_harness()
    risk = await started(h, redis)
    risk.on_quote("BTCUSDT", mark=D(70000))  # equity 15,000: ties the saved peak; 70,000 becomes the hour's mark
    risk.subs[desk.pk].equity.record(h.clock.now_ms(), D(17000))
    rounds: list[float] = []

    async def sleep(seconds: float) -> None:
        rounds.append(seconds)
        if len(rounds) == 2:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await persist_risk_state(risk, interval_s=10, sleep=sleep)

    assert rounds == [10, 10]
    assert (await sync_to_async(EquityState.objects.get)(sub_account=desk)).peak_equity == D(17000)
    assert await sync_to_async(MarkHistory.objects.filter(symbol="BTCUSDT", mark_price=D(70000)).exists)()
    await risk.settle()
