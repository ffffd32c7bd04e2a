"""Acceptance: on the recorded ETHUSDT capture (../shared/data), a chase in each stalk mode behaves as specified,
checked on the decision trace of the backtest."""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections import defaultdict
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from algos.backtest.report import decision_trace
from algos.backtest.session import BacktestRequest, BacktestResult, backtest_run
from simexchange.marketdata import BookTicker
from simexchange.sources import CaptureReplay

D = Decimal
DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "binance-usdm-ws"
FILES = [DATA / "ethusdt_20240718.gz", DATA / "ethusdt_20240719.gz"]
TICK = D("0.01")
THROTTLE_MS = 500

pytestmark = pytest.mark.skipif(not all(path.exists() for path in FILES),
                                reason=f"the recorded ETHUSDT capture is not at {DATA} (../shared/data is absent)")


def chase(side: str, stalk_mode: str, offset_ticks: int, **params: str) -> tuple[BacktestResult, list[dict[str, Any]]]:
    request = BacktestRequest(algo="chase", data=",".join(str(path) for path in FILES), symbol="ETHUSDT", side=side,
                              quantity=D("0.5"), params={"stalk_mode": stalk_mode, "offset_ticks": str(offset_ticks),
                                                         **params}, max_seconds=480)
    result = asyncio.run(backtest_run(request, record_prices=False))
    return result, decision_trace(result.world)


@cache
def touches() -> tuple[list[int], dict[int, set[tuple[Decimal, Decimal]]]]:
    """Every (bid, ask) the capture quoted, by millisecond (several quotes can share one)."""
    by_ms: dict[int, set[tuple[Decimal, Decimal]]] = defaultdict(set)
    for event in CaptureReplay(FILES, symbols=["ETHUSDT"]):
        if isinstance(event, BookTicker):
            by_ms[event.event_time_ms].add((event.bid_price, event.ask_price))
    return sorted(by_ms), by_ms


def places(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in trace if row["kind"] == "order_place"]


def reprices(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return places(trace)[1:]  # each order after the first replaces the one before (cancel-then-place)


def wanted_price(side: str, offset_ticks: int, bid: Decimal, ask: Decimal) -> Decimal:
    return bid - offset_ticks * TICK if side == "buy" else ask + offset_ticks * TICK


def test_none_places_once_and_never_reprices() -> None:
    result, trace = chase("buy", "none", 100)
    assert len(places(trace)) == 1 and reprices(trace) == []
    assert not any(row["kind"] == "order_cancel" for row in trace[:-2])  # at most the final cancel
    assert result.outcome in ("filled", "cancelled: end of the data")
    assert next(row["note"] for row in trace if row["kind"] == "chase_progress") == ""  # the placement


def test_maintain_follows_the_touch_both_up_and_down() -> None:
    _, trace = chase("sell", "maintain", 100)
    moves = reprices(trace)
    assert len(moves) > 20
    prices = [row["price"] for row in places(trace)]
    assert any(b > a for a, b in itertools.pairwise(prices)) and any(b < a for a, b in itertools.pairwise(prices))
    times, quotes = touches()
    for row in moves:  # each new price is the touch + offset of the latest quote at that instant: a reprice
        # goes out on a quote, or when the throttle ends after a held one (then the latest quote decides)
        latest = times[bisect.bisect_right(times, row["time"]) - 1]
        assert row["price"] in {wanted_price("sell", 100, bid, ask) for bid, ask in quotes[latest]}, row
    assert times[0] <= moves[0]["time"]


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_trail_only_moves_in_the_favourable_direction(side: str) -> None:
    _, trace = chase(side, "trail", 100)
    prices = [row["price"] for row in places(trace)]
    assert len(prices) > 10  # it did move
    if side == "buy":
        assert all(b < a for a, b in itertools.pairwise(prices))  # a buy's price never rises
    else:
        assert all(b > a for a, b in itertools.pairwise(prices))  # a sell's price never falls


def test_no_two_reprices_come_within_the_throttle() -> None:
    _, trace = chase("buy", "maintain", 100)
    times = [row["time"] for row in places(trace)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) > 20 and min(gaps) >= THROTTLE_MS
    # ...and the throttle bit: the touch moved more often than the chase repriced
    all_times, _ = touches()
    start, end = bisect.bisect_left(all_times, times[0]), bisect.bisect_right(all_times, times[-1])
    assert end - start > 2 * len(times)


def test_it_cancels_itself_with_a_reason_when_the_mid_drifts_beyond_max_distance() -> None:
    result, trace = chase("sell", "none", 300, max_distance_pct="0.05")
    cancelled = [row for row in trace if row["kind"] == "chase_cancelled"]
    assert len(cancelled) == 1 and "drifted" in cancelled[0]["reason"] and "(max 0.05%)" in cancelled[0]["reason"]
    assert result.outcome.startswith("cancelled: mid ")
    assert trace[-2]["kind"] == "order_cancel" and trace[-2]["side"] == "sell"  # its order is taken down
    assert result.world.exchange.open_orders(result.world.account_id) == []
