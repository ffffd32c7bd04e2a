"""Shared by the strategy runtime tests: an AlgoEngine over the in-process harness with a given registry."""

from __future__ import annotations

import asyncio
from typing import Any

from algos.engine import AlgoEngine, RunRecord
from algos.strategies.runtime.registry import StrategyRegistry
from algos.tests.test_engine import FakeTicks
from trading.tests.engine.harness import Harness


async def strategy_engine(h: Harness, runs: dict[int, RunRecord], registry: StrategyRegistry
                          ) -> tuple[AlgoEngine, FakeTicks, dict[int, tuple[str, dict[str, Any]]]]:
    ticks, statuses = FakeTicks(), {}

    async def load(algo_run_id: int) -> RunRecord | None:
        return runs.get(algo_run_id)

    async def save(algo_run_id: int, status: str, result: dict[str, Any]) -> None:
        statuses[algo_run_id] = (status, result)

    instruments = {rules.symbol: rules for rules in await h.venue.instruments()}
    engine = AlgoEngine(manager=h.manager, ticks=ticks, instruments=instruments, load_run=load, save_run=save,
                        clock=h.clock, publish=h.manager.publish, strategies=registry)
    ticks.prices.update({"BTCUSDT": h.exchange.market("BTCUSDT").quote.bid_price,  # type: ignore[union-attr]
                         "ETHUSDT": h.exchange.market("ETHUSDT").quote.bid_price})  # type: ignore[union-attr]
    return engine, ticks, statuses


async def settle(h: Harness) -> None:
    for _ in range(5):
        await asyncio.sleep(0)
        await h.pump()
        await asyncio.sleep(0)


def strategy_run(algo_run_id: int, sub_account_id: int, name: str, symbols: str = "BTCUSDT",
                 **extra: Any) -> RunRecord:
    """A strategy run's record; `extra` are strategy_params fields (budget_ms, parameters, ...)."""
    return RunRecord(algo_run_id, "strategy", sub_account_id,
                     {"strategy": name, "symbols": symbols, "equity": "10000", **extra})
