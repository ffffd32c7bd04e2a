"""AlgoEngine: starts, feeds, pauses and stops algo runners inside the engine process, one owner per algo.

Each runner's state is saved to the AlgoStateStore (Redis, TTL per kind) at most once a second and at once
on a significant change; after a restart `resume_all` continues every algo from that state.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from algos.domain.params import (
    ParamError,
    basket_legs,
    chase_params,
    scalper_spec,
    strategy_params,
    trail_params,
    twap_basket_spec,
    twap_spec,
)
from algos.governor import RepriceGovernor
from algos.lease import AlgoLease
from algos.runners.chase import ChaseRunner
from algos.runners.scalper import ScalperParams, ScalperRunner
from algos.runners.trail_stop import TrailStopRunner
from algos.runners.twap import TwapRunner
from algos.state_store import AlgoStateStore
from algos.strategies.runtime.guard import RuntimeLimits
from algos.strategies.runtime.registry import StrategyError, StrategyRegistry
from algos.strategies.runtime.runner import StrategyRunner
from core.clock import SYSTEM_CLOCK, Clock
from core.errors import AppError, NotFound
from trading.domain.instruments import InstrumentRules
from trading.engine.hooks import EventSink, discard_events
from trading.engine.order_manager import OrderManager

logger = logging.getLogger(__name__)
Runner = ChaseRunner | ScalperRunner | TwapRunner | TrailStopRunner | StrategyRunner
QuoteRunner = ChaseRunner | ScalperRunner | TrailStopRunner
TICK_S = 1.0
FINISHED = {"filled": "completed", "completed": "completed", "triggered": "completed"}
ZERO = Decimal(0)


@dataclass(frozen=True)
class RunRecord:
    algo_run_id: int
    kind: str  # chase, scalper, twap, trail_stop, strategy
    sub_account_id: int
    parameters: dict[str, Any]
    status: str = "running"


class TickSource(Protocol):
    """The engine's MarketDataService, as far as algos need it."""

    def subscribe(self, symbol: str, callback: Callable[[Any], None]) -> Callable[[], None]: ...

    def reference_price(self, symbol: str) -> Decimal | None: ...

    def cached_price(self, symbol: str) -> Decimal | None: ...


RunStore = Callable[[int, str, dict[str, Any]], Awaitable[None]]  # (algo_run_id, status, result)
FilledBySymbol = Callable[[int], Awaitable[Mapping[str, Decimal]]]


class AlgoEngine:
    def __init__(self, *, manager: OrderManager, ticks: TickSource, instruments: dict[str, InstrumentRules],
                 load_run: Callable[[int], Awaitable[RunRecord | None]], save_run: RunStore,
                 clock: Clock = SYSTEM_CLOCK, publish: EventSink = discard_events,
                 state_store: AlgoStateStore | None = None, lease: AlgoLease | None = None,
                 strategies: StrategyRegistry | None = None, inline_quotes: bool = False,
                 reprice_governor: RepriceGovernor | None = None) -> None:
        self.manager, self.ticks, self.instruments = manager, ticks, instruments
        self.strategies = strategies  # None: the strategies registered in code only, built on first use
        self.clock, self.publish = clock, publish
        self.load_run, self.save_run = load_run, save_run
        self.state_store, self.lease = state_store, lease
        self.runners: dict[int, Runner] = {}
        # Backtests hand quotes over with `await deliver(...)` instead of a task per quote: the same runner code,
        # one event fully decided before the next, and no task to create and schedule for every quote.
        self.inline_quotes = inline_quotes
        self._inline: dict[str, list[tuple[int, QuoteRunner]]] = {}
        self.reprice_governor = reprice_governor  # the desk's reprice budget, shared by every chase
        # Inline mode: a heap on the clock; the replay reads its head to skip run_timers_until when nothing is due.
        self.timers: list[tuple[int, int, Callable[[], Awaitable[None]]]] = []
        self._timer_seq = 0
        self._unsubscribe: dict[int, Callable[[], None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- commands ----------------------------------------------------------------------------------
    async def start(self, payload: dict[str, Any], *, record: RunRecord | None = None,
                    saved: dict[str, Any] | None = None,
                    filled: Mapping[str, Decimal] | None = None) -> dict[str, Any]:
        algo_run_id = int(payload["algo_run_id"])
        if algo_run_id in self.runners:  # one owner per algo: a repeated start is a no-op
            return {"algo_run_id": algo_run_id, "status": "running", "note": "already running"}
        record = record or await self.load_run(algo_run_id)
        if record is None:
            raise NotFound(f"algo run {algo_run_id} does not exist")
        if self.lease is not None and not await self.lease.acquire(algo_run_id):
            holder = await self.lease.holder(algo_run_id)
            raise AppError(f"algo run {algo_run_id} is owned by engine {holder}; stop it there first",
                           code="owned_elsewhere")
        try:
            runner = await self._build_basket(record) if record.kind == "basket" else self._build(
                record, await self._reference_price(runner_symbol(record)))
        except ParamError as exc:
            await self._release(algo_run_id)
            await self.save_run(algo_run_id, "failed", {"error": str(exc)})
            raise AppError(str(exc), code="invalid_parameters") from None
        if saved is not None:
            self._restore(runner, saved, filled or {})
        self.runners[algo_run_id] = runner
        if isinstance(runner, TwapRunner):
            runner.checkpoint = lambda: self._persist(algo_run_id, runner, force=True)
        elif isinstance(runner, StrategyRunner):
            self._unsubscribe[algo_run_id] = self._subscribe_strategy(algo_run_id, runner)
        elif self.inline_quotes:
            self._unsubscribe[algo_run_id] = self._subscribe_inline(runner_symbol(record), algo_run_id, runner)
        else:
            self._unsubscribe[algo_run_id] = self.ticks.subscribe(runner_symbol(record), self._on_tick_for(
                algo_run_id, runner))
        await self._persist(algo_run_id, runner, force=True)
        status = "paused" if runner.paused else "running"
        await self.save_run(algo_run_id, status, {})
        return {"algo_run_id": algo_run_id, "status": status}

    async def stop(self, payload: dict[str, Any]) -> dict[str, Any]:
        algo_run_id, runner = self._running(payload)
        await runner.stop(str(payload.get("reason") or "stopped by operator"))
        await self.manager.cancel_all(algo_run_id=algo_run_id)  # anything a child left working
        await self._finished(algo_run_id, runner)
        return {"algo_run_id": algo_run_id, "status": "cancelled"}

    async def pause(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Working orders are cancelled, the state is kept; nothing new is sent until resume."""
        algo_run_id, runner = self._running(payload)
        await runner.pause()
        await self._persist(algo_run_id, runner, force=True)
        await self.save_run(algo_run_id, "paused", {})
        return {"algo_run_id": algo_run_id, "status": "paused"}

    async def resume(self, payload: dict[str, Any]) -> dict[str, Any]:
        algo_run_id, runner = self._running(payload)
        await runner.resume()
        await self._persist(algo_run_id, runner, force=True)
        await self.save_run(algo_run_id, "running", {})
        return {"algo_run_id": algo_run_id, "status": "running"}

    async def stop_all(self, *, sub_account_id: int | None = None, reason: str = "stopped") -> list[int]:
        """For the risk engine's HALTED state: stop every algo in scope."""
        stopped = []
        for algo_run_id, runner in list(self.runners.items()):
            if sub_account_id is None or runner.sub_account_id == sub_account_id:
                await runner.stop(reason)
                await self.manager.cancel_all(algo_run_id=algo_run_id)
                await self._finished(algo_run_id, runner)
                stopped.append(algo_run_id)
        return stopped

    async def resume_all(self, running: list[RunRecord], filled_of: FilledBySymbol) -> list[int]:
        """After a restart, continue every algo that was running or paused.

        By now the engine's recovery has queried every non-terminal order by client id and knows its
        state. Each algo's remaining working orders are cancelled (proven, never assumed) before it acts,
        then it continues from its saved state with the booked fills as the truth, so nothing is sent twice.
        Without a saved state (Redis lost it) the algo restarts on what is left of its quantity.
        """
        resumed = []
        for record in running:
            if self.lease is not None and not await self.lease.acquire(record.algo_run_id):
                logger.warning("algo %s is owned by another engine; not resumed here", record.algo_run_id)
                continue
            await self.manager.cancel_all(algo_run_id=record.algo_run_id)
            filled = await filled_of(record.algo_run_id)
            saved = await self._load_state(record)
            parameters = dict(record.parameters)
            if saved is None and record.kind == "basket":  # each leg continues on what it has left
                parameters["legs"] = [{**leg, "quantity": str(Decimal(str(leg["quantity"])) - filled.get(
                    leg["symbol"], Decimal(0)))} for leg in basket_legs(parameters)
                    if Decimal(str(leg["quantity"])) > filled.get(leg["symbol"], Decimal(0))]
                if not parameters["legs"]:
                    await self.save_run(record.algo_run_id, "completed", {"outcome": "filled before the restart"})
                    continue
            if saved is None and record.kind in ("chase", "twap"):
                remaining = Decimal(str(parameters.get("quantity", "0"))) - sum(filled.values(), Decimal(0))
                if remaining <= 0:
                    await self.save_run(record.algo_run_id, "completed", {"outcome": "filled before the restart"})
                    continue
                parameters["quantity"] = str(remaining)
            try:
                await self.start({"algo_run_id": record.algo_run_id}, saved=saved, filled=filled,
                                 record=RunRecord(record.algo_run_id, record.kind, record.sub_account_id, parameters))
            except AppError as exc:  # e.g. the remainder is below the minimum order: nothing left to do
                logger.warning("algo %s not resumed: %s", record.algo_run_id, exc.user_message)
                continue
            resumed.append(record.algo_run_id)
        return resumed

    # -- ticks -------------------------------------------------------------------------------------
    async def run(self) -> None:
        """The clock for TWAPs, the throttled state saver, the lease keeper and the reaper of finished runners."""
        while True:
            await self.tick()
            await asyncio.sleep(TICK_S)

    async def tick(self) -> None:
        for algo_run_id, runner in list(self.runners.items()):
            if isinstance(runner, TwapRunner):
                mids = {leg.symbol: price for leg in runner.legs
                        if (price := self.ticks.cached_price(leg.symbol)) is not None}
                await runner.on_tick(mids)
            elif isinstance(runner, StrategyRunner):
                await runner.on_clock()  # bars of a quiet market close on time
            if runner.outcome is not None:
                await self._finished(algo_run_id, runner)
            else:
                await self._persist(algo_run_id, runner)
        if self.state_store is not None:
            await self.state_store.flush()  # states held while Redis was down, or by the throttle
        if self.lease is not None:
            for algo_run_id in await self.lease.renew(list(self.runners)):
                logger.error("algo %s was taken over by another engine; stopping it here", algo_run_id)
                runner = self.runners[algo_run_id]
                runner.outcome = "cancelled: taken over by another engine"
                self._drop(algo_run_id)

    def _on_tick_for(self, algo_run_id: int, runner: QuoteRunner) -> Callable[[Any], None]:
        def on_tick(l1: Any) -> None:
            if l1.bid is None or l1.ask is None:
                return
            task = asyncio.get_running_loop().create_task(self._quote(algo_run_id, runner, l1.bid, l1.ask))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return on_tick

    # -- timers (runners wake at a time of the injected clock) --------------------------------------
    def call_at(self, at_ms: int, callback: Callable[[], Awaitable[None]]) -> None:
        if self.inline_quotes:  # backtest: the replay runs due timers on the virtual clock before each event
            self._timer_seq += 1
            heapq.heappush(self.timers, (at_ms, self._timer_seq, callback))
            return
        loop = asyncio.get_running_loop()
        delay_s = max(0, at_ms - self.clock.now_ms()) / 1000
        loop.call_later(delay_s, lambda: self._spawn_timer(callback))

    def _spawn_timer(self, callback: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.ensure_future(callback())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run_timers_until(self, now_ms: int, advance: Callable[[int], None]) -> None:
        """Inline mode: every timer due by `now_ms`, in time order, each at its own time (`advance` moves the
        virtual clock there)."""
        while self.timers and self.timers[0][0] <= now_ms:
            at_ms, _, callback = heapq.heappop(self.timers)
            advance(at_ms)
            await callback()

    def _subscribe_inline(self, symbol: str, algo_run_id: int, runner: QuoteRunner) -> Callable[[], None]:
        entry = (algo_run_id, runner)
        self._inline.setdefault(symbol, []).append(entry)
        return lambda: self._inline[symbol].remove(entry)

    async def deliver(self, symbol: str, bid: Decimal, ask: Decimal) -> None:
        """Inline mode: this quote to every runner of the symbol, in start order, each awaited (as _quote)."""
        subscribed = self._inline.get(symbol)
        if subscribed:
            for algo_run_id, runner in tuple(subscribed):
                await runner.on_quote(bid, ask)
                if self.state_store is not None:
                    await self._persist(algo_run_id, runner)

    async def _quote(self, algo_run_id: int, runner: QuoteRunner, bid: Decimal, ask: Decimal) -> None:
        await runner.on_quote(bid, ask)
        if self.state_store is not None:  # _persist saves nothing without one: no coroutine per quote
            await self._persist(algo_run_id, runner)

    def _subscribe_strategy(self, algo_run_id: int, runner: StrategyRunner) -> Callable[[], None]:
        """Quotes of every symbol the strategy trades; a failed strategy is reaped at once, not on the timer."""
        async def quote(symbol: str, bid: Decimal, ask: Decimal) -> None:
            await runner.on_quote(bid, ask, symbol=symbol)
            if runner.outcome is not None and self.runners.get(algo_run_id) is runner:
                await self._finished(algo_run_id, runner)
            else:
                await self._persist(algo_run_id, runner)

        def on_tick(l1: Any) -> None:
            if l1.bid is None or l1.ask is None:
                return
            task = asyncio.get_running_loop().create_task(quote(l1.symbol, l1.bid, l1.ask))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        unsubscribes = [self.ticks.subscribe(symbol, on_tick) for symbol in runner.symbols]

        def unsubscribe_all() -> None:
            for unsubscribe in unsubscribes:
                unsubscribe()

        return unsubscribe_all

    async def strategy_risk_state(self, *, scope_kind: str, key: int, state: str, reason: str) -> None:
        """A circuit breaker moved a scope: the strategies in it hear of it (HALTED also stops them)."""
        for algo_run_id, runner in list(self.runners.items()):
            if isinstance(runner, StrategyRunner) and (
                    scope_kind == "global" or (scope_kind == "sub_account" and key == runner.sub_account_id)
                    or (scope_kind == "algo" and key == algo_run_id)):
                await runner.on_risk_state(f"{scope_kind} {key}", state, reason)

    # -- state -------------------------------------------------------------------------------------
    async def _persist(self, algo_run_id: int, runner: Runner, *, force: bool = False) -> None:
        if self.state_store is None or runner.outcome is not None:
            return
        significant = force or runner.significant
        runner.significant = False
        await self.state_store.save(runner.kind, algo_run_id, runner.snapshot(), significant=significant)

    async def _load_state(self, record: RunRecord) -> dict[str, Any] | None:
        if self.state_store is None:
            return None
        return await self.state_store.load(STORE_KIND.get(record.kind, record.kind), record.algo_run_id)

    @staticmethod
    def _restore(runner: Runner, saved: dict[str, Any], filled: Mapping[str, Decimal]) -> None:
        if isinstance(runner, ChaseRunner):
            runner.restore(saved, filled=filled.get(runner.symbol, Decimal(0)))
        elif isinstance(runner, TwapRunner):
            runner.restore(saved, filled=filled)
        else:
            runner.restore(saved)

    # -- internals ---------------------------------------------------------------------------------
    def _running(self, payload: dict[str, Any]) -> tuple[int, Runner]:
        algo_run_id = int(payload["algo_run_id"])
        runner = self.runners.get(algo_run_id)
        if runner is None:
            raise NotFound(f"algo run {algo_run_id} is not running in this engine")
        return algo_run_id, runner

    async def _reference_price(self, symbol: str) -> Decimal | None:
        """The tick cache first; a live source also has the cascade (Redis price cache, then REST)."""
        price = self.ticks.reference_price(symbol)
        fetch = getattr(self.ticks, "price", None)
        if price is None and fetch is not None and symbol in self.instruments:
            price = await fetch(symbol)
        return price

    async def _build_basket(self, record: RunRecord) -> TwapRunner:
        legs = basket_legs(record.parameters)
        prices = {leg["symbol"]: await self._reference_price(leg["symbol"]) for leg in legs
                  if leg["symbol"] in self.instruments}
        spec = twap_basket_spec(record.parameters, self.instruments, prices, self.clock.now_ms(), record.algo_run_id)
        return TwapRunner(algo_run_id=record.algo_run_id, sub_account_id=record.sub_account_id, legs=spec.legs,
                          manager=self.manager, clock=self.clock, publish=self.publish)

    def _build(self, record: RunRecord, reference: Decimal | None) -> Runner:
        if record.kind == "strategy":
            return self._build_strategy(record)
        params = record.parameters
        rules = self.instruments.get(runner_symbol(record))
        if rules is None:
            raise ParamError(f"unknown symbol {params.get('symbol')!r}")
        run_id, sub_id = record.algo_run_id, record.sub_account_id
        common: dict[str, Any] = {"algo_run_id": run_id, "sub_account_id": sub_id, "manager": self.manager,
                                  "publish": self.publish}
        if record.kind == "chase":
            return ChaseRunner(params=chase_params(params, rules, reference), clock=self.clock, timers=self,
                               governor=self.reprice_governor, **common)
        if record.kind == "scalper":
            if reference is None:
                raise ParamError(f"no fresh price for {rules.symbol}: a scalper needs one to size its layers")
            spec = scalper_spec(params, rules, reference)
            return ScalperRunner(params=ScalperParams(
                rules=rules, sides=spec.sides, sizes=spec.sizes, offsets_bps=spec.offsets_bps,
                base_delay_ms=spec.base_delay_ms, max_fills_per_minute=spec.max_fills_per_minute,
                max_loss_bps=spec.max_loss_bps, max_position=spec.max_position,
                reprice_throttle_ms=spec.reprice_throttle_ms, max_distance_pct=spec.max_distance_pct),
                clock=self.clock, timers=self, governor=self.reprice_governor, **common)
        if record.kind == "twap":
            if reference is None:
                raise ParamError(f"no fresh price for {rules.symbol}: a TWAP needs one to size its lots")
            spec_twap = twap_spec(params, rules, reference, self.clock.now_ms(), record.algo_run_id)
            return TwapRunner(legs=spec_twap.legs, clock=self.clock, **common)
        if record.kind == "trail_stop":
            position = self.manager.positions.of(sub_id, rules.symbol)
            return TrailStopRunner(symbol=rules.symbol, params=trail_params(params, position), **common)
        raise ParamError(f"unknown algo {record.kind!r}")

    def _build_strategy(self, record: RunRecord) -> StrategyRunner:
        spec = strategy_params(record.parameters, self.instruments)
        if self.strategies is None:
            self.strategies = StrategyRegistry()
        try:  # a file strategy is read afresh here: a changed file runs from this (re)start on
            strategy = self.strategies.create(spec.name, spec.symbols, spec.parameters)
            return StrategyRunner(
                algo_run_id=record.algo_run_id, sub_account_id=record.sub_account_id, strategy=strategy,
                manager=self.manager, instruments=self.instruments, clock=self.clock, publish=self.publish,
                equity=spec.equity if spec.equity is not None else ZERO,
                limits=RuntimeLimits(budget_ms=spec.budget_ms, max_signals_per_callback=spec.max_signals_per_callback,
                                     max_signals_per_minute=spec.max_signals_per_minute))
        except (StrategyError, ValueError) as exc:
            raise ParamError(str(exc)) from None

    async def _finished(self, algo_run_id: int, runner: Runner) -> None:
        if self.runners.get(algo_run_id) is not runner:  # already finished by another path (timer, quote, stop)
            return
        self._drop(algo_run_id)
        outcome = runner.outcome or "cancelled"
        if outcome.startswith("failed"):  # a strategy stopped by isolation: nothing it left may keep working
            await self.manager.cancel_all(algo_run_id=algo_run_id)
            await self.save_run(algo_run_id, "failed", {"outcome": outcome, **self._result_of(runner)})
        else:
            await self.save_run(algo_run_id, FINISHED.get(outcome, "cancelled"),
                                {"outcome": outcome, **self._result_of(runner)})
        if self.state_store is not None:
            await self.state_store.delete(runner.kind, algo_run_id)
        await self._release(algo_run_id)

    def _drop(self, algo_run_id: int) -> None:
        self.runners.pop(algo_run_id, None)
        unsubscribe = self._unsubscribe.pop(algo_run_id, None)
        if unsubscribe is not None:
            unsubscribe()

    async def _release(self, algo_run_id: int) -> None:
        if self.lease is not None:
            await self.lease.release(algo_run_id)


    @staticmethod
    def _result_of(runner: Runner) -> dict[str, Any]:
        return {"metrics": runner.status()} if isinstance(runner, StrategyRunner) else {}


STORE_KIND = {"chase": "chase", "scalper": "scalper", "twap": "twap", "trail_stop": "trailstop",
              "strategy": "strategy"}


def runner_symbol(record: RunRecord) -> str:
    """The symbol an algo trades (a basket's first leg: its legs are listed in `legs`)."""
    legs = record.parameters.get("legs")
    if record.kind == "basket" and isinstance(legs, list) and legs and isinstance(legs[0], dict):
        return str(legs[0].get("symbol", "")).upper()
    return str(record.parameters.get("symbol", ""))
