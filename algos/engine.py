"""AlgoEngine: starts, feeds and stops algo runners inside the engine process, one owner per algo."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from algos.domain.params import ParamError, chase_params, trail_params, twap_spec
from algos.runners.chase import ChaseRunner
from algos.runners.trail_stop import TrailStopRunner
from algos.runners.twap import TwapRunner
from core.clock import SYSTEM_CLOCK, Clock
from core.errors import AppError, NotFound
from trading.domain.instruments import InstrumentRules
from trading.engine.hooks import EventSink, discard_events
from trading.engine.order_manager import OrderManager

logger = logging.getLogger(__name__)
Runner = ChaseRunner | TwapRunner | TrailStopRunner
TICK_S = 1.0


@dataclass(frozen=True)
class RunRecord:
    algo_run_id: int
    kind: str  # chase, twap, trail_stop
    sub_account_id: int
    parameters: dict[str, Any]


class TickSource(Protocol):
    """The engine's MarketDataService, as far as algos need it."""

    def subscribe(self, symbol: str, callback: Callable[[Any], None]) -> Callable[[], None]: ...

    def reference_price(self, symbol: str) -> Decimal | None: ...

    def cached_price(self, symbol: str) -> Decimal | None: ...


RunStore = Callable[[int, str, dict[str, Any]], Awaitable[None]]  # (algo_run_id, status, result)


class AlgoEngine:
    def __init__(self, *, manager: OrderManager, ticks: TickSource, instruments: dict[str, InstrumentRules],
                 load_run: Callable[[int], Awaitable[RunRecord | None]], save_run: RunStore,
                 clock: Clock = SYSTEM_CLOCK, publish: EventSink = discard_events) -> None:
        self.manager, self.ticks, self.instruments = manager, ticks, instruments
        self.clock, self.publish = clock, publish
        self.load_run, self.save_run = load_run, save_run
        self.runners: dict[int, Runner] = {}
        self._unsubscribe: dict[int, Callable[[], None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- commands ----------------------------------------------------------------------------------
    async def start(self, payload: dict[str, Any], *, record: RunRecord | None = None) -> dict[str, Any]:
        algo_run_id = int(payload["algo_run_id"])
        if algo_run_id in self.runners:  # one owner per algo: a repeated start is a no-op
            return {"algo_run_id": algo_run_id, "status": "running", "note": "already running"}
        record = record or await self.load_run(algo_run_id)
        if record is None:
            raise NotFound(f"algo run {algo_run_id} does not exist")
        try:
            runner = self._build(record)
        except ParamError as exc:
            await self.save_run(algo_run_id, "failed", {"error": str(exc)})
            raise AppError(str(exc), code="invalid_parameters") from None
        self.runners[algo_run_id] = runner
        symbol = str(record.parameters["symbol"])
        if not isinstance(runner, TwapRunner):
            self._unsubscribe[algo_run_id] = self.ticks.subscribe(symbol, self._on_tick_for(runner))
        await self.save_run(algo_run_id, "running", {})
        return {"algo_run_id": algo_run_id, "status": "running"}

    async def stop(self, payload: dict[str, Any]) -> dict[str, Any]:
        algo_run_id = int(payload["algo_run_id"])
        runner = self.runners.get(algo_run_id)
        if runner is None:
            raise NotFound(f"algo run {algo_run_id} is not running in this engine")
        await runner.stop()
        await self._finished(algo_run_id, runner)
        return {"algo_run_id": algo_run_id, "status": "cancelled"}

    async def resume_all(self, running: list[RunRecord],
                         filled_of: Callable[[int], Awaitable[Decimal]]) -> list[int]:
        """After a restart: each algo that was running gets its owned orders cancelled (their state was
        proven by the engine's recovery, which queried them by client id), then restarts on what is left.

        What is left is read after the cancels, so a fill that raced a cancel is counted, never repeated.
        Returns the resumed ids.
        """
        resumed = []
        for record in running:
            await self.manager.cancel_all(algo_run_id=record.algo_run_id)
            parameters = dict(record.parameters)
            if record.kind != "trail_stop":
                remaining = Decimal(str(parameters.get("quantity", "0"))) - await filled_of(record.algo_run_id)
                if remaining <= 0:
                    await self.save_run(record.algo_run_id, "completed", {"outcome": "filled before the restart"})
                    continue
                parameters["quantity"] = str(remaining)
            try:
                await self.start({"algo_run_id": record.algo_run_id},
                                 record=RunRecord(record.algo_run_id, record.kind, record.sub_account_id, parameters))
            except AppError as exc:  # e.g. the remainder is below the minimum order: nothing left to do
                logger.warning("algo %s not resumed: %s", record.algo_run_id, exc.user_message)
                continue
            resumed.append(record.algo_run_id)
        return resumed

    # -- ticks -------------------------------------------------------------------------------------
    async def run(self) -> None:
        """The clock for TWAPs and the reaper of finished runners."""
        while True:
            await self.tick()
            await asyncio.sleep(TICK_S)

    async def tick(self) -> None:
        for algo_run_id, runner in list(self.runners.items()):
            if isinstance(runner, TwapRunner):
                mids = {leg.symbol: price for leg in runner.legs
                        if (price := self.ticks.cached_price(leg.symbol)) is not None}
                await runner.on_tick(mids)
            if runner.outcome is not None:
                await self._finished(algo_run_id, runner)

    def _on_tick_for(self, runner: ChaseRunner | TrailStopRunner) -> Callable[[Any], None]:
        def on_tick(l1: Any) -> None:
            if l1.bid is None or l1.ask is None:
                return
            task = asyncio.get_running_loop().create_task(runner.on_quote(l1.bid, l1.ask))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return on_tick

    # -- internals ---------------------------------------------------------------------------------
    def _build(self, record: RunRecord) -> Runner:
        params = record.parameters
        rules = self.instruments.get(str(params.get("symbol")))
        if rules is None:
            raise ParamError(f"unknown symbol {params.get('symbol')!r}")
        reference = self.ticks.reference_price(rules.symbol)
        run_id, sub_id = record.algo_run_id, record.sub_account_id
        if record.kind == "chase":
            return ChaseRunner(algo_run_id=run_id, sub_account_id=sub_id, params=chase_params(params, rules, reference),
                               manager=self.manager, clock=self.clock, publish=self.publish)
        if record.kind == "twap":
            if reference is None:
                raise ParamError(f"no fresh price for {rules.symbol}: a TWAP needs one to size its lots")
            spec = twap_spec(params, rules, reference, self.clock.now_ms(), record.algo_run_id)
            return TwapRunner(algo_run_id=run_id, sub_account_id=sub_id, legs=spec.legs, manager=self.manager,
                              clock=self.clock, publish=self.publish)
        if record.kind == "trail_stop":
            position = self.manager.positions.of(sub_id, rules.symbol)
            return TrailStopRunner(algo_run_id=run_id, sub_account_id=sub_id, symbol=rules.symbol,
                                   params=trail_params(params, position), manager=self.manager,
                                   publish=self.publish)
        raise ParamError(f"unknown algo {record.kind!r}")

    async def _finished(self, algo_run_id: int, runner: Runner) -> None:
        self.runners.pop(algo_run_id, None)
        unsubscribe = self._unsubscribe.pop(algo_run_id, None)
        if unsubscribe is not None:
            unsubscribe()
        outcome = runner.outcome or "cancelled"
        status = "completed" if outcome in ("filled", "completed", "triggered") else "cancelled"
        await self.save_run(algo_run_id, status, {"outcome": outcome})
