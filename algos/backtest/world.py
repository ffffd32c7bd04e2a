"""The backtest composition: the live OrderManager, FillRouter and AlgoEngine over the in-process matching core.

Only the composition differs from live (DESIGN §4): the venue is simexchange's matching core called in
process, the journal is memory, the clock is virtual, and quotes come from a replayed stream.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from algos.backtest.ticks import ReplayTicks
from algos.engine import AlgoEngine, RunRecord
from algos.governor import RepriceGovernor
from core.clock import VirtualClock
from simexchange.core.config import EngineConfig
from simexchange.core.engine import MatchingEngine
from trading.domain.instruments import InstrumentRules
from trading.domain.records import SubAccountInfo
from trading.engine.hooks import AllowAll, EventSink, PreTradeCheck, discard_events
from trading.engine.journal import MemoryJournal
from trading.engine.order_manager import OrderManager
from trading.engine.routing import FillRouter
from trading.venues.base import OrderRequest, WriteOutcome
from trading.venues.inprocess import InProcessVenue

SUB_ACCOUNT_ID, HOUSE_ID = 1, 99
SUB_ACCOUNTS = [SubAccountInfo(SUB_ACCOUNT_ID, "backtest", "backtest", "active"),
                SubAccountInfo(HOUSE_ID, "house000", "house", "active", is_house=True)]
DEPOSIT = Decimal("100000000")  # margin is not what a backtest of an execution algo measures
REPRICE_RATE_PER_S, REPRICE_BURST = 10.0, 20  # live's defaults (PMS_REPRICE_RATE_PER_S / _BURST)
HISTORY_KEPT = 10_000  # keep_history=False: terminal orders, fills and finished runs kept (the manager's window)
TERMINAL_RUN_STATUSES = frozenset({"completed", "cancelled", "failed"})


@dataclass(frozen=True, slots=True)
class SentOrder:
    """A request the OrderManager sent to the venue, as the decision trace records it."""

    kind: str  # "place" or "cancel"
    time_ms: int
    client_order_id: str
    side: str
    price: Decimal | None
    quantity: Decimal | None
    order_type: str = ""


@dataclass(frozen=True, slots=True)
class AlgoEvent:
    """An event a runner published (chase_progress, twap_progress, ...), at the virtual time it happened."""

    kind: str
    time_ms: int
    data: dict[str, Any]


class RecordingVenue(InProcessVenue):
    """The in-process venue, noting every write the OrderManager sends (the trace's order half)."""

    def __init__(self, engine: MatchingEngine, account_id: int, trace: list[object], *, record: bool = True) -> None:
        super().__init__(engine, account_id)
        self.record = record  # False (benchmarks): only count, so memory stays flat over millions of orders
        self.places = self.cancels = 0
        self.sent: list[SentOrder] = []
        self.trace = trace  # shared with the event sink, so sends and algo events keep their true order
        self._sides: dict[str, tuple[str, Decimal | None, Decimal]] = {}
        self.no_events_pending = self._events.empty  # the replay asks after every event: a bound method

    def events_pending(self) -> bool:
        return not self._events.empty()

    async def place(self, request: OrderRequest) -> WriteOutcome:
        self.places += 1
        if not self.record:
            return await super().place(request)
        side = request.side.value
        self._sides[request.client_order_id] = (side, request.price, request.quantity)
        sent = SentOrder("place", self.engine.now_ms(), request.client_order_id, side, request.price,
                         request.quantity, request.order_type.value)
        self.sent.append(sent)
        self.trace.append(sent)
        return await super().place(request)

    async def cancel(self, *, symbol: str, client_order_id: str) -> WriteOutcome:
        self.cancels += 1
        if not self.record:
            return await super().cancel(symbol=symbol, client_order_id=client_order_id)
        side, price, quantity = self._sides.get(client_order_id, ("", None, Decimal(0)))
        sent = SentOrder("cancel", self.engine.now_ms(), client_order_id, side, price, quantity)
        self.sent.append(sent)
        self.trace.append(sent)
        return await super().cancel(symbol=symbol, client_order_id=client_order_id)


@dataclass
class BacktestWorld:
    clock: VirtualClock
    exchange: MatchingEngine
    account_id: int
    venue: RecordingVenue
    journal: MemoryJournal
    manager: OrderManager
    router: FillRouter
    ticks: ReplayTicks
    engine: AlgoEngine
    instruments: dict[str, InstrumentRules]
    trace: list[object]  # SentOrder and AlgoEvent, in the order they happened
    runs: dict[int, RunRecord] = field(default_factory=dict)
    run_status: dict[int, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    runs_finished: Counter[str] = field(default_factory=Counter)  # keep_history=False: finished runs, by status
    record_kinds: tuple[str, ...] = ("chase_", "scalper_", "twap_", "trail_stop_")

    def publish(self, group: str, kind: str, data: dict[str, Any]) -> None:
        """The event sink: algo events are kept (with the virtual time) for the trace and the report."""
        if kind.startswith(self.record_kinds):
            self.trace.append(AlgoEvent(kind, self.clock.now_ms(), data))

    @property
    def events(self) -> list[AlgoEvent]:
        return [entry for entry in self.trace if isinstance(entry, AlgoEvent)]

    async def pump(self) -> int:
        """The exchange's user-data events through the FillRouter, as the live stream consumer does."""
        venue_events = self.venue.drain_user_events()
        if venue_events:
            await self.router.handle_batch(venue_events)
        return len(venue_events)

    def position(self, symbol: str) -> Any:
        from trading.domain.positions import Position

        return self.journal.positions_by_key.get((SUB_ACCOUNT_ID, symbol), Position(symbol))


async def world_create(*, start_ms: int, pre_trade: PreTradeCheck | None = None,
                       record_events: bool = True, keep_history: bool = True) -> BacktestWorld:
    """Build the composition of trading/tests/engine/harness.py plus the AlgoEngine on replayed ticks.

    keep_history=False (benchmarks of millions of orders): the exchange, the journal and the run table keep
    what is working and only the latest HISTORY_KEPT of what ended, so memory does not grow with the run; a
    report needs the full history (the default).
    """
    clock = VirtualClock(start_ms)
    kept = None if keep_history else HISTORY_KEPT
    exchange = MatchingEngine(EngineConfig(history_kept=kept), clock=clock.now_ms)
    account_id = exchange.create_account(api_key="backtest", secret="backtest", deposit=DEPOSIT)  # noqa: S106
    trace: list[object] = []
    venue = RecordingVenue(exchange, account_id, trace, record=record_events)
    rules = await venue.instruments()
    journal = MemoryJournal(SUB_ACCOUNTS, rules, history_kept=kept)
    ticks = ReplayTicks()
    holder: dict[str, BacktestWorld] = {}

    def record(group: str, kind: str, data: dict[str, Any]) -> None:
        holder["world"].publish(group, kind, data)

    publish: EventSink = record if record_events else discard_events  # the components build no event for nobody

    manager = OrderManager(venue=venue, journal=journal, clock=clock, pre_trade=pre_trade or AllowAll(),
                           prices=ticks, publish=publish)
    await manager.load()
    manager.resume()
    router = FillRouter(journal=journal, manager=manager, venue=venue,
                        sub_account_codes={sub.code: sub.sub_account_id for sub in SUB_ACCOUNTS},
                        house_sub_account_id=HOUSE_ID, clock=clock, publish=publish)
    instruments = {rule.symbol: rule for rule in rules}
    runs: dict[int, RunRecord] = {}
    statuses: dict[int, tuple[str, dict[str, Any]]] = {}
    runs_finished: Counter[str] = Counter()

    async def load_run(algo_run_id: int) -> RunRecord | None:
        return runs.get(algo_run_id)

    async def save_run(algo_run_id: int, status: str, result: dict[str, Any]) -> None:
        if keep_history or status not in TERMINAL_RUN_STATUSES:
            statuses[algo_run_id] = (status, result)
            return
        statuses.pop(algo_run_id, None)
        runs.pop(algo_run_id, None)
        runs_finished[status] += 1

    engine = AlgoEngine(manager=manager, ticks=ticks, instruments=instruments, load_run=load_run,
                        save_run=save_run, clock=clock, publish=publish, inline_quotes=True,
                        reprice_governor=RepriceGovernor(rate_per_s=REPRICE_RATE_PER_S, burst=REPRICE_BURST))
    world = BacktestWorld(clock, exchange, account_id, venue, journal, manager, router, ticks, engine, instruments,
                          trace, runs=runs, run_status=statuses, runs_finished=runs_finished)
    holder["world"] = world
    return world
