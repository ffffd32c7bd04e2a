"""RiskEngine: the engine process's pre-trade hook, tick-driven margin, auto-deleverage and circuit breakers.

State lives in memory (loaded from the database at start); every check is a pure function over it.
Ticks of a held symbol re-evaluate the sub-accounts holding it at most every `eval_interval_ms` each;
fills re-evaluate at once. Trips change the in-memory state first (the next check already sees them),
then are recorded, cancel working orders in scope and stop its algos.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from core.clock import SYSTEM_CLOCK, Clock
from risk.domain.adl import ADL_TIERS, DEFAULT_COOLDOWN_MS, AdlMemory, AdlStep, adl_decide
from risk.domain.breakers import (
    EquityHistory,
    EventWindow,
    Trip,
    TripKind,
    equity_trips,
    order_rate_trip,
    rejection_storm_trip,
)
from risk.domain.limits import NO_LIMITS, GlobalLimits, SubAccountLimits
from risk.domain.margin import DEFAULT_LEVERAGE, AccountMargin, Brackets, MarginBook, MarginTotals
from risk.domain.monitors import VarEstimate, historical_var
from risk.domain.pretrade import AccountBook, GlobalBook, pre_trade_check
from risk.domain.states import GLOBAL, Scope, ScopeKind, ScopeState, TradingState, algo_scope, sub_account_scope
from risk.snapshots import monitor_fields, snapshot_data
from trading.domain.client_ids import OrderOrigin
from trading.domain.instruments import InstrumentRules
from trading.domain.records import FillBooked, OrderIntent
from trading.domain.types import OrderType, Side
from trading.engine.hooks import Denial, EventSink, discard_events
from trading.engine.order_manager import OrderManager
from trading.events import account_group

logger = logging.getLogger(__name__)
ZERO = Decimal(0)
EVAL_INTERVAL_MS = 2_000
STORM_THRESHOLD, STORM_WINDOW_MS = 20, 60_000
VAR_INTERVAL_MS = 60_000
SNAPSHOT_CHUNK = 250  # snapshots built per loop turn: a tick re-evaluating 1,000 sub-accounts never blocks it long
VAR_PER_CHUNK = 10  # VaR recomputations per snapshot chunk (~0.4 ms each for 5 symbols x 250 days): spread over turns

StopAlgos = Callable[[Scope], Awaitable[None]]
SnapshotSink = Callable[[list[tuple[int, dict[str, Any]]]], Coroutine[Any, Any, None]]
EquityRow = tuple[int, int, Decimal, Decimal]  # sub-account, day (days since the epoch, UTC), day open, peak


class RiskStore(Protocol):
    """Where trips and ADL actions are recorded (PostgreSQL live, memory in backtests)."""

    async def record_trip(self, scope: Scope, trip: Trip) -> None: ...

    async def record_adl(self, *, sub_account_id: int, step: AdlStep, symbol: str, side: str, quantity: Decimal,
                         client_order_id: str, result: str) -> None: ...


@dataclass
class MemoryRiskStore:
    trips: list[tuple[Scope, Trip]] = field(default_factory=list)
    adl: list[dict[str, Any]] = field(default_factory=list)

    async def record_trip(self, scope: Scope, trip: Trip) -> None:
        self.trips.append((scope, trip))

    async def record_adl(self, *, sub_account_id: int, step: AdlStep, symbol: str, side: str, quantity: Decimal,
                         client_order_id: str, result: str) -> None:
        self.adl.append({"sub_account_id": sub_account_id, "tier": step.tier.level, "symbol": symbol, "side": side,
                         "quantity": quantity, "client_order_id": client_order_id, "result": result})


@dataclass
class SubAccountRisk:
    book: AccountBook
    margin: MarginBook
    equity: EquityHistory = field(default_factory=EquityHistory)
    attempts: EventWindow = field(default_factory=EventWindow)
    rejections: EventWindow = field(default_factory=lambda: EventWindow(STORM_WINDOW_MS))
    last_eval_ms: int = -(10**15)
    totals: MarginTotals | None = None
    adl_last: AdlMemory | None = None
    adl_running: bool = False
    var: VarEstimate | None = None
    var_at_ms: int = -(10**15)
    equity_saved: tuple[int, Decimal, Decimal] | None = None
    booked: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # symbol -> (realized PnL, fees)

    @property
    def wallet(self) -> Decimal:
        return self.margin.wallet


@dataclass(frozen=True)
class RiskConfig:
    eval_interval_ms: int = EVAL_INTERVAL_MS
    adl_cooldown_ms: int = DEFAULT_COOLDOWN_MS
    storm_threshold: int = STORM_THRESHOLD
    storm_window_ms: int = STORM_WINDOW_MS
    var_interval_ms: int = VAR_INTERVAL_MS
    # Never auto-deleveraged (alerted instead): the house sub-account holds what nobody here placed — manual
    # trades, liquidations, reconciliation residuals — so closing it automatically would fight the operator.
    adl_exempt: frozenset[int] = frozenset()


DEFAULT_CONFIG = RiskConfig()


class RiskEngine:
    """Implements trading.engine.hooks.PreTradeCheck; feed it fills (on_fill) and ticks (on_quote / on_tick)."""

    def __init__(self, *, manager: OrderManager, brackets: Mapping[str, Brackets],
                 instruments: Mapping[str, InstrumentRules], store: RiskStore, clock: Clock = SYSTEM_CLOCK,
                 publish: EventSink = discard_events, stop_algos: StopAlgos | None = None,
                 snapshots: SnapshotSink | None = None, config: RiskConfig = DEFAULT_CONFIG) -> None:
        self.manager, self.brackets, self.instruments = manager, dict(brackets), dict(instruments)
        self.store, self.clock, self.publish = store, clock, publish
        self.stop_algos, self.snapshots, self.config = stop_algos, snapshots, config
        self.world = GlobalBook()
        self.subs: dict[int, SubAccountRisk] = {}
        self.states: dict[Scope, ScopeState] = {}
        self.holders: dict[str, set[int]] = {}  # symbol -> sub-accounts holding it
        self._own: OrderIntent | None = None  # the ADL order being placed: it passes its own check
        self._tasks: set[asyncio.Task[None]] = set()
        self._steps = {symbol: rules.step_size for symbol, rules in self.instruments.items()}
        self._adl_floor = ADL_TIERS[0].margin_ratio
        self._dirty: dict[int, None] = {}  # sub-accounts whose snapshot is due, in evaluation order
        self._flushing = False
        self.returns: dict[str, list[Decimal]] = {}  # daily mark returns per symbol, oldest first (for VaR)
        self.checks = 0

    # -- loading ------------------------------------------------------------------------------------
    def load(self, *, limits: Mapping[int, SubAccountLimits], global_limits: GlobalLimits,
             states: Mapping[Scope, ScopeState], wallets: Mapping[int, Decimal],
             positions: list[tuple[int, str, Decimal, Decimal]], equity: Mapping[int, EquityRow] | None = None,
             returns: Mapping[str, list[Decimal]] | None = None,
             booked: Mapping[tuple[int, str], tuple[Decimal, Decimal]] | None = None) -> None:
        """Start-up state: limits, non-active states, wallet balances, (sub, symbol, quantity, entry) positions,
        the saved equity history (day open and peak survive a restart), daily mark returns for VaR, and each
        position's realized PnL and fees so far (the snapshot carries them, so readers need no database)."""
        self.world.limits = global_limits
        self.states = dict(states)
        for sub_account_id in set(limits) | set(wallets):
            self._sub(sub_account_id).book.limits = limits.get(sub_account_id, NO_LIMITS)
        for sub_account_id, wallet in wallets.items():
            self._sub(sub_account_id).margin.set_wallet(wallet)
        for sub_account_id, symbol, quantity, entry in positions:
            self._set_position(sub_account_id, symbol, quantity, entry)
        for (sub_account_id, symbol), figures in (booked or {}).items():
            self._sub(sub_account_id).booked[symbol] = figures
        for sub_account_id, (_, day, day_open, peak) in (equity or {}).items():
            sub = self._sub(sub_account_id)
            sub.equity.restore(day=day, day_open=day_open, peak=peak)
            sub.equity_saved = (day, day_open, peak)
        if returns is not None:
            self.returns = {symbol: list(values) for symbol, values in returns.items()}

    def set_limits(self, limits: Mapping[int, SubAccountLimits], global_limits: GlobalLimits) -> None:
        self.world.limits = global_limits
        for sub_account_id, sub in self.subs.items():
            sub.book.limits = limits.get(sub_account_id, NO_LIMITS)
            sub.margin.set_leverage(functools.partial(self._leverage, sub.book.limits))
        for sub_account_id in set(limits) - set(self.subs):
            self._sub(sub_account_id).book.limits = limits[sub_account_id]

    def set_returns(self, returns: Mapping[str, list[Decimal]]) -> None:
        """Daily mark returns per symbol (oldest first), refreshed as the mark history grows."""
        self.returns = {symbol: list(values) for symbol, values in returns.items()}

    def _sub(self, sub_account_id: int) -> SubAccountRisk:
        sub = self.subs.get(sub_account_id)
        if sub is None:
            sub = self.subs[sub_account_id] = SubAccountRisk(AccountBook(sub_account_id), MarginBook(self.brackets))
        return sub

    def _set_position(self, sub_account_id: int, symbol: str, quantity: Decimal, entry: Decimal) -> None:
        sub = self._sub(sub_account_id)
        before = sub.book.positions.get(symbol, ZERO)
        sub.book.positions[symbol] = quantity
        mark = self.world.marks.get(symbol) or entry
        sub.margin.set_position(symbol, quantity, entry, mark, self._leverage(sub.book.limits, symbol)
                                if quantity else DEFAULT_LEVERAGE)
        self.world.net[symbol] = self.world.net.get(symbol, ZERO) + quantity - before
        self.world.gross[symbol] = self.world.gross.get(symbol, ZERO) + abs(quantity) - abs(before)
        holders = self.holders.setdefault(symbol, set())
        if quantity:
            holders.add(sub_account_id)
        else:
            holders.discard(sub_account_id)

    # -- the pre-trade hook -------------------------------------------------------------------------
    def check(self, intent: OrderIntent, *, reference_price: Decimal | None) -> Denial | None:
        """PreTradeCheck: None to allow, a Denial with the reason otherwise. Never raises."""
        if intent is self._own:
            return None
        try:
            return self._check(intent, reference_price)
        except Exception as exc:  # fail closed, loudly
            logger.exception("risk check failed")
            return Denial(f"risk check failed ({type(exc).__name__}); order refused", "risk_error")

    def _check(self, intent: OrderIntent, reference_price: Decimal | None) -> Denial | None:
        self.checks += 1
        now = self.clock.now_ms()
        sub = self._sub(intent.sub_account_id)
        book = sub.book
        if book.limits.max_open_orders is not None or book.limits.max_position_notional is not None:
            self._count_working(book)
        scope_states = (self.states.get(GLOBAL), self.states.get(sub_account_scope(intent.sub_account_id)),
                        self.states.get(algo_scope(intent.algo_run_id)) if intent.algo_run_id is not None else None)
        attempts = sub.attempts.add(now)
        if reference_price is None:  # the OrderManager's price source had none fresh: the last tick's mark
            reference_price = self.world.marks.get(intent.symbol)
        decision = pre_trade_check(intent, book=book, world=self.world, reference_price=reference_price,
                                   now_ms=now, states=scope_states)
        if decision.allowed:
            book.orders.add(now)
            return None
        runaway = order_rate_trip(attempts, book.limits.max_orders_per_minute)
        if runaway is not None:
            self.trip(self._offender(intent), runaway)
        self.note_rejection(intent.sub_account_id, intent.algo_run_id)
        return Denial(decision.reason, decision.code or "risk_denied")

    def _count_working(self, book: AccountBook) -> None:
        """Open orders and the unfilled quantity of exposure-adding orders, from the OrderManager's live set."""
        count = 0
        buys: dict[str, Decimal] = {}
        sells: dict[str, Decimal] = {}
        for live in self.manager.live.values():
            order = live.order
            if order.sub_account_id != book.sub_account_id:
                continue
            count += 1
            if not order.reduce_only:
                side = buys if order.side is Side.BUY else sells
                side[order.symbol] = side.get(order.symbol, ZERO) + order.quantity - order.filled_quantity
        # filled on the exchange but not booked yet (an instant fill before its stream event): still exposure
        for symbol, signed in self.manager.unbooked_fills(book.sub_account_id).items():
            side = buys if signed > 0 else sells
            side[symbol] = side.get(symbol, ZERO) + abs(signed)
        book.open_orders, book.working_buy, book.working_sell = count, buys, sells

    @staticmethod
    def _offender(intent: OrderIntent) -> Scope:
        """An algo's misbehaviour halts the algo; a manual flood halts the sub-account."""
        return algo_scope(intent.algo_run_id) if intent.algo_run_id is not None else sub_account_scope(
            intent.sub_account_id)

    def note_rejection(self, sub_account_id: int, algo_run_id: int | None = None) -> None:
        """A refused order (by risk or by the exchange); a storm of them halts the offender."""
        sub = self._sub(sub_account_id)
        sub.rejections.window_ms = self.config.storm_window_ms
        count = sub.rejections.add(self.clock.now_ms())
        storm = rejection_storm_trip(count, self.config.storm_threshold, self.config.storm_window_ms)
        if storm is not None:
            scope = algo_scope(algo_run_id) if algo_run_id is not None else sub_account_scope(sub_account_id)
            self.trip(scope, storm)

    # -- fills and ticks ----------------------------------------------------------------------------
    def on_fill(self, booked: FillBooked) -> None:
        """After a fill is booked: the position, the wallet (realized PnL less fees), then a re-evaluation."""
        position = booked.position
        sub = self._sub(booked.sub_account_id)
        sub.margin.set_wallet(sub.wallet + booked.change.realized_pnl - booked.change.fee)
        sub.booked[position.symbol] = (position.realized_pnl, position.fees)
        self._set_position(booked.sub_account_id, position.symbol, position.quantity, position.average_entry)
        self.evaluate(booked.sub_account_id)

    def on_wallet_change(self, sub_account_id: int, amount: Decimal) -> None:
        """Deposits, withdrawals and funding booked outside fills."""
        sub = self._sub(sub_account_id)
        sub.margin.set_wallet(sub.wallet + amount)
        self.evaluate(sub_account_id)

    def on_tick(self, l1: Any) -> None:
        """MarketDataService.subscribe callback (an L1 with mark_price, bid, ask)."""
        self.on_quote(l1.symbol, bid=l1.bid, ask=l1.ask, mark=l1.mark_price)

    def on_quote(self, symbol: str, *, bid: Decimal | None = None, ask: Decimal | None = None,
                 mark: Decimal | None = None) -> None:
        price = mark if mark is not None else ((bid + ask) / 2 if bid is not None and ask is not None else None)
        if price is None or price <= 0:
            return
        self.world.marks[symbol] = price
        now = self.clock.now_ms()
        for sub_account_id in list(self.holders.get(symbol, ())):
            if now - self.subs[sub_account_id].last_eval_ms >= self.config.eval_interval_ms:
                self.evaluate(sub_account_id)

    # -- evaluation ---------------------------------------------------------------------------------
    def margin_of(self, sub_account_id: int) -> AccountMargin:
        """Every figure at the current marks, liquidation prices included."""
        sub = self._sub(sub_account_id)
        sub.margin.sync_marks(self.world.marks)
        return sub.margin.account()

    def _leverage(self, limits: SubAccountLimits, symbol: str) -> int:
        wanted = int(limits.max_leverage) if limits.max_leverage is not None else DEFAULT_LEVERAGE
        return max(1, min(wanted, self.brackets[symbol][0].max_leverage))

    def evaluate(self, sub_account_id: int) -> MarginTotals:
        """Margin, breakers and ADL for one sub-account, now; its snapshot and margin_updated follow in a batch.

        Only what decides (margin ratio, equity) is computed here: positions reprice when their mark moved,
        liquidation prices and monitors are left to the snapshot.
        """
        sub = self._sub(sub_account_id)
        now = self.clock.now_ms()
        sub.last_eval_ms = now
        sub.margin.sync_marks(self.world.marks)
        totals = sub.totals = sub.margin.totals()
        sub.book.margin_balance = totals.margin_balance
        sub.equity.record(now, totals.margin_balance)
        limits = sub.book.limits
        if limits.max_daily_loss is not None or limits.max_drawdown_pct is not None or (
                limits.rapid_drawdown_pct is not None):
            for trip in equity_trips(limits, sub.equity, totals.margin_balance):
                self.trip(sub_account_scope(sub_account_id), trip)
        if totals.margin_ratio >= self._adl_floor:
            self._maybe_deleverage(sub_account_id, sub, totals, now)
        if self.snapshots is None and self.publish is discard_events:
            return totals  # nobody reads snapshots (a backtest without events): skip building them
        self._dirty[sub_account_id] = None
        if not self._flushing:
            self._flushing = True
            self._spawn(self._flush())
        return totals

    async def _flush(self) -> None:
        """Build the due snapshots in chunks (yielding between them), publish margin_updated, write them."""
        try:
            while self._dirty:
                var_budget = VAR_PER_CHUNK
                chunk = list(itertools.islice(self._dirty, SNAPSHOT_CHUNK))
                for sub_account_id in chunk:
                    del self._dirty[sub_account_id]
                items = []
                for sub_account_id in chunk:
                    data, var_budget = self._snapshot(sub_account_id, var_budget)
                    self.publish(account_group(sub_account_id), "margin_updated", data)
                    items.append((sub_account_id, data))
                if self.snapshots is not None:
                    await self.snapshots(items)
                await asyncio.sleep(0)
        finally:
            self._flushing = False

    def snapshot(self, sub_account_id: int) -> dict[str, Any]:
        """A sub-account's risk snapshot now: margin, liquidation prices, state, drawdown, concentration, VaR."""
        return self._snapshot(sub_account_id, 1)[0]

    def _snapshot(self, sub_account_id: int, var_budget: int) -> tuple[dict[str, Any], int]:
        sub = self._sub(sub_account_id)
        now = self.clock.now_ms()
        margin = self.margin_of(sub_account_id)
        if var_budget > 0 and now - sub.var_at_ms >= self.config.var_interval_ms:
            sub.var, sub.var_at_ms = self._var(margin), now
            var_budget -= 1
        state = self.states.get(sub_account_scope(sub_account_id))
        data = snapshot_data(sub_account_id, margin, state=state.state.value if state else "active", at_ms=now,
                             extra=self._monitors(sub, margin), booked=sub.booked)
        return data, var_budget

    def _var(self, margin: AccountMargin) -> VarEstimate | None:
        exposures = {p.symbol: p.quantity * p.mark_price for p in margin.positions}
        return historical_var(exposures, self.returns)

    @staticmethod
    def _monitors(sub: SubAccountRisk, margin: AccountMargin) -> dict[str, Any]:
        return monitor_fields(margin, peak=sub.equity.peak, day_open=sub.equity.day_open, var=sub.var)

    # -- equity history that survives a restart -----------------------------------------------------
    def equity_unsaved(self) -> list[EquityRow]:
        """(sub-account, day, day open, peak) of the sub-accounts whose day open or peak moved since saved."""
        rows = []
        for sub_account_id, sub in self.subs.items():
            current = sub.equity.saved_form()
            if current is not None and current != sub.equity_saved:
                rows.append((sub_account_id, *current))
        return rows

    def equity_saved(self, rows: list[EquityRow]) -> None:
        for sub_account_id, day, day_open, peak in rows:
            self._sub(sub_account_id).equity_saved = (day, day_open, peak)

    # -- auto-deleverage ----------------------------------------------------------------------------
    def _maybe_deleverage(self, sub_account_id: int, sub: SubAccountRisk, totals: MarginTotals, now: int) -> None:
        if sub.adl_running:
            return
        positions = {row.symbol: (row.quantity, row.notional) for row in sub.margin.rows}
        step = adl_decide(ratio=totals.margin_ratio, positions=positions, step_sizes=self._steps,
                          last=sub.adl_last, now_ms=now, cooldown_ms=self.config.adl_cooldown_ms)
        if step is None:
            return
        if sub_account_id in self.config.adl_exempt:
            sub.adl_last = AdlMemory(step.tier.level, now)  # alert once per cooldown, not on every tick
            self.publish("risk", "risk_alert", {
                "kind": "adl_exempt", "sub_account_id": sub_account_id, "tier": step.tier.level,
                "margin_ratio": str(totals.margin_ratio),
                "message": (f"sub-account {sub_account_id} is exempt from auto-deleverage (the house): margin ratio "
                            f"{totals.margin_ratio:.4f} reached tier {step.tier.level}; fund it or close its "
                            "positions by hand")})
            return
        sub.adl_last = AdlMemory(step.tier.level, now)
        sub.adl_running = True
        self.publish("risk", "adl_triggered", {
            "sub_account_id": sub_account_id, "tier": step.tier.level, "margin_ratio": str(totals.margin_ratio),
            "reductions": [{"symbol": r.symbol, "quantity": str(r.quantity)} for r in step.reductions],
            "message": step.reason})
        self._spawn(self._deleverage(sub_account_id, sub, step))

    async def _deleverage(self, sub_account_id: int, sub: SubAccountRisk, step: AdlStep) -> None:
        try:
            for reduction in step.reductions:
                position = sub.book.positions.get(reduction.symbol, ZERO)
                if not position:
                    continue
                side = Side.SELL if position > 0 else Side.BUY
                quantity = min(reduction.quantity, abs(position))
                intent = OrderIntent(sub_account_id, reduction.symbol, side, OrderType.MARKET, quantity,
                                     reduce_only=True, origin=OrderOrigin.ADL)
                self._own = intent
                try:
                    result = await self.manager.place(intent)
                finally:
                    self._own = None
                outcome = "placed" if result.ok else f"refused: {result.reason}"
                await self.store.record_adl(sub_account_id=sub_account_id, step=step, symbol=reduction.symbol,
                                            side=side.value, quantity=quantity,
                                            client_order_id=result.client_order_id or "", result=outcome)
                if not result.ok:
                    self.publish("risk", "risk_alert", {
                        "kind": "adl_failed", "sub_account_id": sub_account_id,
                        "message": f"ADL {side.value} {quantity} {reduction.symbol} refused: {result.reason}"})
        finally:
            sub.adl_running = False

    # -- breakers -----------------------------------------------------------------------------------
    def trip(self, scope: Scope, trip: Trip) -> bool:
        """Move a scope to the trip's state unless it is already at least that strict; True when it moved."""
        current = self.states.get(scope)
        if current is not None and current.state.severity >= trip.state.severity:
            return False
        self.states[scope] = ScopeState(scope, trip.state, trip.reason)
        self.publish("risk", "circuit_breaker", {"scope": scope.kind.value, "key": scope.key,
                                                 "state": trip.state.value, "trigger": trip.kind.value,
                                                 "reason": trip.reason})
        self._spawn(self._after_trip(scope, trip))
        return True

    async def _after_trip(self, scope: Scope, trip: Trip) -> None:
        if trip.state is TradingState.HALTED:
            await self.halt_effects(scope)
        await self.store.record_trip(scope, trip)

    async def halt_effects(self, scope: Scope) -> None:
        """HALTED: cancel the working orders in scope and stop its algos."""
        if scope.kind is ScopeKind.SUB_ACCOUNT:
            await self.manager.cancel_all(sub_account_id=scope.key)
        elif scope.kind is ScopeKind.ALGO:
            await self.manager.cancel_all(algo_run_id=scope.key)
        else:
            await self.manager.cancel_all()
        if self.stop_algos is not None:
            await self.stop_algos(scope)

    async def apply_states(self, states: Mapping[Scope, ScopeState]) -> None:
        """States reloaded from the database (manual trips and resets): newly halted scopes are enforced."""
        before = self.states
        self.states = dict(states)
        for scope, state in states.items():
            previous = before.get(scope)
            if state.state is TradingState.HALTED and (previous is None or previous.state is not TradingState.HALTED):
                await self.halt_effects(scope)

    def manual_trip(self, scope: Scope, state: TradingState, reason: str) -> bool:
        """In-process kill switch (tests, backtests); the audited path is risk.services.breaker_trip."""
        return self.trip(scope, Trip(TripKind.MANUAL, state, reason))

    # -- tasks --------------------------------------------------------------------------------------
    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("risk task failed", exc_info=task.exception())

    async def settle(self) -> None:
        """Wait for the effects spawned so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
