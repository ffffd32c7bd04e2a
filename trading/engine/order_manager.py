"""The OrderManager: every order the engine places, from intent to terminal state."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from core.clock import SYSTEM_CLOCK, Clock
from core.errors import AppError, VenueUnavailable
from core.faultpoints import crash_point
from core.frozen import quick_init
from trading.domain.netting import exchange_reduce_only, reduce_only_reason
from trading.domain.orders import OrderStatus, OrderUpdate
from trading.domain.records import FillReport, JournaledOrder, OrderIntent
from trading.domain.types import OrderType, Side
from trading.engine.hooks import AllowAll, EventSink, NoPrices, PreTradeCheck, PriceSource, discard_events
from trading.engine.journal import Journal
from trading.engine.metrics import METRICS
from trading.events import account_group
from trading.venues.base import Accepted, OrderRequest, Rejected, Venue, VenueOrder, WriteOutcome

logger = logging.getLogger(__name__)
FILL_GAP_MAX_MS = 60_000


@dataclass
class FillGap:
    sub_account_id: int
    symbol: str
    side: Side
    reported: Decimal = Decimal(0)
    booked: Decimal = Decimal(0)
    terminal: bool = False
    since_ms: int = 0

FillCallback = Callable[[JournaledOrder, FillReport], None]
DoneCallback = Callable[[JournaledOrder], None]
UNKNOWN_ORDER = -2011


@dataclass(slots=True)
class LiveOrder:
    order: JournaledOrder
    sent_ms: int = 0
    on_fill: FillCallback | None = None
    on_done: DoneCallback | None = None
    cancel_after_ack: bool = False  # cancelled while its placement was unanswered: cancel once it is known


@quick_init
@dataclass(frozen=True, slots=True)
class OrderResult:
    """What the caller learns at once; fills follow through callbacks and events."""

    ok: bool
    client_order_id: str | None = None
    status: OrderStatus | None = None
    reason: str = ""
    code: str = ""
    estimated_fill_price: Decimal | None = None  # market orders: the touch when sent, replaced by the real fill


def update_from(order: VenueOrder) -> OrderUpdate:
    return OrderUpdate(order.status, order.filled_quantity, order.average_price)


@dataclass(slots=True)
class NetBook:
    """Each sub-account's quantity per symbol and their sum, which the exchange must hold."""

    by_sub: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    net: dict[str, Decimal] = field(default_factory=dict)
    version: int = 0  # bumped by every set: a reload read at an older version must not undo a newer fill
    set_at: dict[tuple[int, str], int] = field(default_factory=dict)

    def set(self, sub_account_id: int, symbol: str, quantity: Decimal) -> None:
        before = self.by_sub.get((sub_account_id, symbol), Decimal(0))
        self.by_sub[(sub_account_id, symbol)] = quantity
        self.net[symbol] = self.net.get(symbol, Decimal(0)) + quantity - before
        self.version += 1
        self.set_at[(sub_account_id, symbol)] = self.version

    def of(self, sub_account_id: int, symbol: str) -> Decimal:
        return self.by_sub.get((sub_account_id, symbol), Decimal(0))


class OrderManager:
    """Owns every live order it placed. The row is committed before the request leaves; ambiguous
    outcomes stay in flight until a query proves them; writes are never retried blindly.
    """

    def __init__(self, *, venue: Venue, journal: Journal, clock: Clock = SYSTEM_CLOCK,
                 pre_trade: PreTradeCheck | None = None, prices: PriceSource | None = None,
                 publish: EventSink = discard_events, recv_window_ms: int = 5000) -> None:
        self.venue, self.journal, self.clock = venue, journal, clock
        self.pre_trade = pre_trade or AllowAll()
        self.prices = prices or NoPrices()
        self.publish = publish
        self.recv_window_ms = recv_window_ms
        self.live: dict[str, LiveOrder] = {}
        self.positions = NetBook()
        self.exchange_positions: dict[str, Decimal] = {}  # the exchange's net per symbol, as last reported
        self.paused_reason: str | None = "starting: recovery has not run"
        self.rejection_listeners: list[Callable[[JournaledOrder], None]] = []  # the exchange refused an order
        # Fills the exchange reported on an order (REST answer or order update) but not booked yet: between an
        # instant fill's REST answer and its booking from the stream the order is no longer live and its fill
        # not yet in the position, and exposure checks must still count it. cid -> gap.
        self._fill_gaps: dict[str, FillGap] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Recent terminal orders, for replace(); ordered so the oldest goes in O(1) (popping a plain dict's first
        # key scans the holes earlier pops left).
        self._finished: OrderedDict[str, JournaledOrder] = OrderedDict()

    # -- lifecycle ---------------------------------------------------------------------------------
    async def load(self) -> None:
        """Start-up: the journal's live orders and positions become the in-memory state."""
        now = self.clock.now_ms()
        for order in await self.journal.live_orders():
            # Counted as just sent: an order not found on the exchange is only called never-placed once a
            # request sent before the restart could no longer arrive (the receive window).
            self.live[order.client_order_id] = LiveOrder(order, sent_ms=now)
        for sub_account_id, position in await self.journal.positions():
            self.positions.set(sub_account_id, position.symbol, position.quantity)

    def positions_reload(self, rows: Sequence[tuple[int, str, Decimal]], *, read_at_version: int
                         ) -> list[tuple[int, str]]:
        """PostgreSQL changed these (sub-account, symbol, quantity) behind the engine (a reconciliation booked
        fills). Rows read when the book was at `read_at_version`; a position the engine moved since keeps the
        engine's newer value. Returns the positions reloaded."""
        reloaded = []
        for sub_account_id, symbol, quantity in rows:
            if self.positions.set_at.get((sub_account_id, symbol), 0) <= read_at_version:
                self.positions.set(sub_account_id, symbol, quantity)
                reloaded.append((sub_account_id, symbol))
        return reloaded

    def pause(self, reason: str) -> None:
        """Fail closed: no new orders (cancels still go) until resume()."""
        self.paused_reason = reason

    def resume(self) -> None:
        self.paused_reason = None

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- placing -----------------------------------------------------------------------------------
    async def place(self, intent: OrderIntent, *, on_fill: FillCallback | None = None,
                    on_done: DoneCallback | None = None, duplicate_guard: bool = False) -> OrderResult:
        """Validate, check risk, journal as pending_submit, then send; one request, never retried."""
        refusal, reduce_only_on_exchange = self._precheck(intent, duplicate_guard)
        if refusal is not None:
            return self._refuse(intent, refusal)
        try:
            order = await self.journal.order_open(intent, reference_price=self.prices.reference_price(intent.symbol))
        except AppError as exc:
            return self._refuse(intent, OrderResult(False, reason=exc.user_message, code=exc.code))
        live = LiveOrder(order, sent_ms=self.clock.now_ms(), on_fill=on_fill, on_done=on_done)
        self.live[order.client_order_id] = live  # before sending: a stream event may beat the response
        METRICS.orders_sent.inc()
        started = self.clock.now_ms()
        outcome = await self.venue.place(self._request(order, reduce_only_on_exchange))
        METRICS.order_roundtrip_ms.observe(self.clock.now_ms() - started)
        return await self._settle_placement(order, outcome)

    async def place_many(self, intents: Sequence[OrderIntent]) -> list[OrderResult]:
        """Batch placement in fives; each order keeps its own outcome."""
        results: list[OrderResult | None] = [None] * len(intents)
        accepted: list[tuple[int, JournaledOrder, bool]] = []
        for index, intent in enumerate(intents):
            refusal, reduce_flag = self._precheck(intent, duplicate_guard=False)
            if refusal is not None:
                results[index] = self._refuse(intent, refusal)
                continue
            try:
                order = await self.journal.order_open(intent,
                                                      reference_price=self.prices.reference_price(intent.symbol))
            except AppError as exc:
                results[index] = self._refuse(intent, OrderResult(False, reason=exc.user_message, code=exc.code))
                continue
            self.live[order.client_order_id] = LiveOrder(order, sent_ms=self.clock.now_ms())
            accepted.append((index, order, reduce_flag))
        for start in range(0, len(accepted), 5):
            chunk = accepted[start:start + 5]
            METRICS.orders_sent.inc(len(chunk))
            outcomes = await self.venue.place_batch([self._request(order, flag) for _, order, flag in chunk])
            for (index, order, _), outcome in zip(chunk, outcomes, strict=True):
                results[index] = await self._settle_placement(order, outcome)
        return [result for result in results if result is not None]

    def _precheck(self, intent: OrderIntent, duplicate_guard: bool) -> tuple[OrderResult | None, bool]:
        if self.paused_reason is not None:
            return OrderResult(False, reason=f"new orders are paused: {self.paused_reason}", code="paused"), False
        if duplicate_guard and self._duplicate_of(intent):
            return OrderResult(False, reason=(f"a {intent.side.value} {intent.origin.value} order on {intent.symbol} "
                                              "is already working for this sub-account"), code="duplicate"), False
        if intent.reduce_only:
            reason = reduce_only_reason(sub_position=self.positions.of(intent.sub_account_id, intent.symbol),
                                        side=intent.side, quantity=intent.quantity)
            if reason is not None:
                return OrderResult(False, reason=reason, code="reduce_only"), False
        denial = self.pre_trade.check(intent, reference_price=self.prices.reference_price(intent.symbol))
        if denial is not None:
            return OrderResult(False, reason=denial.reason, code=denial.code), False
        net = self.positions.net.get(intent.symbol, Decimal(0))
        if intent.reduce_only and self._desynced(intent, net):
            return None, False  # never reduce-only against a side the exchange may not hold
        reduce_flag = intent.reduce_only and exchange_reduce_only(net_position=net, side=intent.side,
                                                                  quantity=intent.quantity)
        return None, reduce_flag

    def _desynced(self, intent: OrderIntent, virtual_net: Decimal) -> bool:
        """Desync check before a close: the exchange's last reported position should equal Σ virtual."""
        exchange = self.exchange_positions.get(intent.symbol)
        if exchange is None or exchange == virtual_net:
            return False
        self.publish("risk", "risk_alert", {
            "kind": "desync", "symbol": intent.symbol, "sub_account_id": intent.sub_account_id,
            "exchange": exchange, "virtual": virtual_net,
            "message": (f"{intent.symbol}: the exchange reports {exchange} but sub-accounts sum to {virtual_net}; "
                        "the close goes out without reduce-only and the position sync will settle the difference")})
        return True

    def _duplicate_of(self, intent: OrderIntent) -> bool:
        return any(live.order.sub_account_id == intent.sub_account_id and live.order.symbol == intent.symbol
                   and live.order.side == intent.side and live.order.origin == intent.origin
                   for live in self.live.values())

    def _refuse(self, intent: OrderIntent, result: OrderResult) -> OrderResult:
        METRICS.orders_rejected.inc()
        self.publish(account_group(intent.sub_account_id), "order_rejected", {
            "symbol": intent.symbol, "side": intent.side.value, "quantity": intent.quantity,
            "price": intent.price, "reason": result.reason, "code": result.code})
        return result

    @staticmethod
    def _request(order: JournaledOrder, reduce_only_on_exchange: bool) -> OrderRequest:
        return OrderRequest(client_order_id=order.client_order_id, symbol=order.symbol, side=order.side,
                            order_type=order.order_type, quantity=order.quantity, price=order.price,
                            time_in_force=order.time_in_force, reduce_only=reduce_only_on_exchange)

    async def _settle_placement(self, order: JournaledOrder, outcome: WriteOutcome) -> OrderResult:
        cid = order.client_order_id
        if isinstance(outcome, Accepted):
            await self.apply(cid, update_from(outcome.order), exchange_order_id=outcome.order.exchange_order_id)
            estimate = None
            if order.order_type is OrderType.MARKET:
                estimate = outcome.order.average_price or self.prices.touch_price(
                    order.symbol, buying=order.side is Side.BUY)
            current = self.live.get(cid)
            status = current.order.status if current else outcome.order.status
            return OrderResult(True, cid, status, estimated_fill_price=estimate)
        if isinstance(outcome, Rejected):
            METRICS.orders_rejected.inc()
            await self.apply(cid, OrderUpdate(OrderStatus.REJECTED), reject_reason=outcome.reason)
            if outcome.retry_after_ms is None:  # a rate refusal (ours or the exchange's) is throttling, not a
                for listener in self.rejection_listeners:  # refused order: it must not feed a rejection storm
                    listener(order)
            return OrderResult(False, cid, OrderStatus.REJECTED, reason=outcome.reason, code=str(outcome.code or ""))
        METRICS.orders_ambiguous.inc()
        await self.apply(cid, OrderUpdate(OrderStatus.UNKNOWN))
        self._spawn(self._resolve(cid))
        return OrderResult(True, cid, OrderStatus.UNKNOWN,
                           reason=f"outcome unknown ({outcome.reason}); resolving by query")

    # -- cancelling --------------------------------------------------------------------------------
    async def cancel(self, client_order_id: str) -> OrderResult:
        """Ask the exchange to cancel; the order is cancelled only when the exchange proves it."""
        live = self.live.get(client_order_id)
        if live is None:
            return OrderResult(False, client_order_id, reason=f"no working order {client_order_id}",
                               code="not_found")
        if live.order.status is OrderStatus.PENDING_SUBMIT:
            # the placement is unanswered: a cancel now could overtake the order on its way to the exchange
            live.cancel_after_ack = True
            return OrderResult(True, client_order_id, live.order.status,
                               reason="cancel goes out as soon as the exchange answers the placement")
        await self.apply(client_order_id, OrderUpdate(OrderStatus.CANCEL_PENDING))
        outcome = await self.venue.cancel(symbol=live.order.symbol, client_order_id=client_order_id)
        return await self._settle_cancel(live, outcome)

    async def cancel_all(self, *, sub_account_id: int | None = None, symbol: str | None = None,
                         algo_run_id: int | None = None) -> list[OrderResult]:
        chosen = [cid for cid, live in self.live.items()
                  if (sub_account_id is None or live.order.sub_account_id == sub_account_id)
                  and (symbol is None or live.order.symbol == symbol)
                  and (algo_run_id is None or live.order.algo_run_id == algo_run_id)]
        return list(await asyncio.gather(*(self.cancel(cid) for cid in chosen)))

    async def replace(self, client_order_id: str, *, price: Decimal, on_fill: FillCallback | None = None,
                      on_done: DoneCallback | None = None) -> OrderResult:
        """Cancel, and only once the cancel is proven place the remainder at the new price with a new
        client id, so a late fill of the old order is still attributed to it."""
        live = self.live.get(client_order_id)
        if live is None:
            return OrderResult(False, client_order_id, reason=f"no working order {client_order_id}",
                               code="not_found")
        old = live.order
        await self.cancel(client_order_id)
        final = self.live.get(client_order_id)
        if final is not None:  # still working: the cancel is not proven, so no replacement goes out
            return OrderResult(False, client_order_id, final.order.status,
                               reason="cancel not yet proven; replacement withheld", code="cancel_pending")
        done = self._finished.get(client_order_id, old)  # apply() keeps every order that just ended
        remaining = old.quantity - done.filled_quantity
        if done.status is not OrderStatus.CANCELED or remaining <= 0:
            return OrderResult(False, client_order_id, done.status, reason="order already done", code="done")
        crash_point("replace.cancel_acked")
        intent = OrderIntent(old.sub_account_id, old.symbol, old.side, old.order_type, remaining, price,
                             old.time_in_force, old.reduce_only, old.origin, old.algo_run_id)
        return await self.place(intent, on_fill=on_fill, on_done=on_done)

    async def _settle_cancel(self, live: LiveOrder, outcome: WriteOutcome) -> OrderResult:
        cid = live.order.client_order_id
        if isinstance(outcome, Accepted):
            await self.apply(cid, update_from(outcome.order))
        elif isinstance(outcome, Rejected) and outcome.code != UNKNOWN_ORDER:
            await self._query_and_apply(live)  # refused: the order is still what the exchange says it is
        else:  # unknown to the exchange (filled, cancelled or never arrived) or no answer: ask
            self._spawn(self._resolve(cid))
        current = self.live.get(cid)
        status = current.order.status if current else self._finished.get(cid, live.order).status
        ok = not isinstance(outcome, Rejected) or outcome.code == UNKNOWN_ORDER
        return OrderResult(ok, cid, status, reason=getattr(outcome, "reason", ""))

    # -- state -------------------------------------------------------------------------------------
    async def apply(self, client_order_id: str, update: OrderUpdate, *, exchange_order_id: str | None = None,
                    reject_reason: str = "") -> JournaledOrder | None:
        """Fold a report into the journal and the live set; terminal orders leave the live set."""
        order = await self.journal.order_update(client_order_id, update, exchange_order_id=exchange_order_id,
                                                reject_reason=reject_reason)
        if order is not None:
            self._settled(order)
        return order

    async def apply_many(self, updates: list[tuple[str, OrderUpdate, str | None]]) -> None:
        """A burst of stream reports in one journal transaction."""
        for order in await self.journal.order_update_many(updates):
            self._settled(order)

    def settle_reconciled(self, order: JournaledOrder) -> bool:
        """An order a reconciliation sweep finished in the database behind the engine (filled, cancelled or
        rejected while the stream missed it): it leaves the live set and its owner hears that it is done, as if
        the stream had said so. False when it is not live here or the row is not terminal."""
        if order.client_order_id not in self.live or not order.status.is_terminal:
            return False
        self._settled(order)
        return True

    def _settled(self, order: JournaledOrder) -> None:
        client_order_id = order.client_order_id
        if order.filled_quantity > 0 or client_order_id in self._fill_gaps:
            gap = self._fill_gaps.setdefault(client_order_id, FillGap(order.sub_account_id, order.symbol, order.side,
                                                                      since_ms=self.clock.now_ms()))
            gap.reported = max(gap.reported, order.filled_quantity)
            gap.terminal = order.status.is_terminal
            self._fill_gap_close(client_order_id, gap)
        if self.publish is not discard_events:  # a benchmark's backtest watches no events: build none
            self.publish(account_group(order.sub_account_id), "order_updated", {
                "client_order_id": order.client_order_id, "symbol": order.symbol, "side": order.side.value,
                "status": order.status.value, "quantity": order.quantity, "filled_quantity": order.filled_quantity,
                "price": order.price, "average_price": order.average_price})
        live = self.live.get(client_order_id)
        if live is not None and live.cancel_after_ack and order.status in (OrderStatus.NEW,
                                                                           OrderStatus.PARTIALLY_FILLED):
            live.cancel_after_ack = False
            self._spawn(self._cancel_quietly(client_order_id))
        live = self.live.get(client_order_id)
        if live is not None:
            live.order = order
            if order.status.is_terminal:
                del self.live[client_order_id]
                self.finished_remember(order)
                if live.on_done is not None:
                    self._callback(live.on_done, order)

    async def _cancel_quietly(self, client_order_id: str) -> None:
        await self.cancel(client_order_id)

    def recently_finished(self) -> list[JournaledOrder]:
        return list(self._finished.values())

    def finished_remember(self, order: JournaledOrder) -> None:
        self._finished[order.client_order_id] = order
        if len(self._finished) > 10_000:  # bounded: only recent outcomes are asked for
            self._finished.popitem(last=False)

    def on_fill(self, report: FillReport, position_quantity: Decimal) -> None:
        """Called by fill routing after a fill is booked."""
        self.positions.set(report.sub_account_id, report.symbol, position_quantity)
        gap = self._fill_gaps.setdefault(report.client_order_id, FillGap(
            report.sub_account_id, report.symbol, report.side, since_ms=self.clock.now_ms()))
        gap.booked += report.quantity
        self._fill_gap_close(report.client_order_id, gap)
        live = self.live.get(report.client_order_id)
        if live is not None and live.on_fill is not None:
            self._callback(live.on_fill, live.order, report)

    def unbooked_fills(self, sub_account_id: int) -> dict[str, Decimal]:
        """Signed quantity per symbol the exchange reported filled for this sub-account but not booked yet."""
        now, totals = self.clock.now_ms(), dict[str, Decimal]()
        for cid, gap in list(self._fill_gaps.items()):
            if now - gap.since_ms > FILL_GAP_MAX_MS:  # the stream lost it: the position sync books it
                del self._fill_gaps[cid]
                continue
            if gap.sub_account_id == sub_account_id and gap.reported > gap.booked:
                signed = gap.reported - gap.booked if gap.side is Side.BUY else gap.booked - gap.reported
                totals[gap.symbol] = totals.get(gap.symbol, Decimal(0)) + signed
        return totals

    def _fill_gap_close(self, client_order_id: str, gap: FillGap) -> None:
        if gap.terminal and gap.booked >= gap.reported:
            self._fill_gaps.pop(client_order_id, None)

    def _callback(self, function: Callable[..., None], *args: object) -> None:
        try:
            function(*args)
        except Exception:  # an algo's bug must not break order handling for everyone else
            logger.exception("order callback failed", extra={"client_order_id": getattr(args[0], "client_order_id",
                                                                                         "")})

    # -- ambiguity ---------------------------------------------------------------------------------
    def resolve_later(self, client_order_id: str) -> None:
        """Keep asking about an order whose state the exchange has not proven yet."""
        self._spawn(self._resolve(client_order_id))

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _query_and_apply(self, live: LiveOrder) -> bool:
        """Ask the exchange for the order's state; True when that settled it."""
        cid = live.order.client_order_id
        venue_order = await self.venue.fetch_order(symbol=live.order.symbol, client_order_id=cid)
        if venue_order is not None:
            await self.apply(cid, update_from(venue_order), exchange_order_id=venue_order.exchange_order_id)
            current = self.live.get(cid)
            return current is None or current.order.status not in (OrderStatus.UNKNOWN, OrderStatus.CANCEL_PENDING)
        # Absent. A request older than the exchange's recvWindow can no longer be accepted, so past that
        # an order that was never seen is proven never placed.
        if self.clock.now_ms() - live.sent_ms >= self.recv_window_ms and live.order.filled_quantity == 0:
            await self.apply(cid, OrderUpdate(OrderStatus.REJECTED),
                             reject_reason="not on the exchange after the receive window: never placed")
            return True
        return False

    async def _resolve(self, client_order_id: str) -> None:
        """Query with backoff until the exchange proves the order's state."""
        delay = 0.2
        while (live := self.live.get(client_order_id)) is not None:
            try:
                if await self._query_and_apply(live):
                    return
            except VenueUnavailable as exc:
                logger.warning("order query failed, retrying", extra={"client_order_id": client_order_id,
                                                                      "reason": str(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
