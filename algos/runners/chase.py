"""ChaseRunner: one chase, from quotes to orders, with its events; its state snapshots to plain JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from algos.domain.chase import (
    ChaseAction,
    ChaseDecision,
    ChaseParams,
    ChaseState,
    chase_is_done,
    chase_on_fill,
    chase_on_quote,
    chase_remaining,
    chase_wake_at,
)
from algos.governor import RepriceGovernor
from algos.runners.snapshot import dec, undec
from algos.runners.timers import Timers
from core.clock import SYSTEM_CLOCK, Clock
from core.money import ZERO
from trading.domain.client_ids import OrderOrigin
from trading.domain.records import FillReport, JournaledOrder, OrderIntent
from trading.domain.types import OrderType, TimeInForce
from trading.engine.hooks import EventSink, discard_events
from trading.engine.order_manager import OrderManager, OrderResult
from trading.events import account_group


class ChaseRunner:
    """Feeds every quote to the pure chase; at most one order works at a time.

    Quotes that arrive while an order request is in flight are not queued: only the latest is kept and
    decided on afterwards, so a burst costs one reprice. A reprice is cancel-then-place with a new client
    id (OrderManager.replace), so a late fill of the old order is still attributed to it.
    """

    kind = "chase"

    def __init__(self, *, algo_run_id: int | None, sub_account_id: int, params: ChaseParams, manager: OrderManager,
                 clock: Clock = SYSTEM_CLOCK, publish: EventSink = discard_events,
                 origin: OrderOrigin = OrderOrigin.CHS,
                 fill_listener: Callable[[FillReport], None] | None = None,
                 timers: Timers | None = None, governor: RepriceGovernor | None = None) -> None:
        self.algo_run_id, self.sub_account_id, self.params = algo_run_id, sub_account_id, params
        self.manager, self.clock, self.publish = manager, clock, publish
        self.origin, self.fill_listener = origin, fill_listener
        self.state = ChaseState()
        self.client_order_id: str | None = None
        self.reprices = 0
        self.outcome: str | None = None  # "filled" or "cancelled: <reason>" once finished
        self.paused = False
        self.significant = False  # set on a change worth saving at once (an order sent, a fill)
        self._busy = False
        self._latest: tuple[Decimal, Decimal] | None = None
        self.timers, self.governor = timers, governor
        self._last_quote: tuple[Decimal, Decimal] | None = None
        self._wake_at: int | None = None

    # -- persistence -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        state = self.state
        return {"initial_mid": dec(state.initial_mid), "working_price": dec(state.working_price),
                "target_price": dec(state.target_price), "last_reprice_ms": state.last_reprice_ms,
                "filled": dec(state.filled), "client_order_id": self.client_order_id, "reprices": self.reprices,
                "paused": self.paused}

    def restore(self, saved: dict[str, Any], *, filled: Decimal) -> None:
        """Continue a chase from its saved state after a restart. `filled` is the booked truth; the order
        that was working has been cancelled by then, so the next quote places the remainder afresh while the
        drift limit still measures from the first mid."""
        self.state = ChaseState(initial_mid=undec(saved.get("initial_mid")),
                                target_price=undec(saved.get("target_price")),
                                last_reprice_ms=saved.get("last_reprice_ms"), filled=filled)
        self.reprices = int(saved.get("reprices", 0))
        self.paused = bool(saved.get("paused", False))

    @property
    def symbol(self) -> str:
        return self.params.rules.symbol

    async def on_quote(self, bid: Decimal, ask: Decimal) -> None:
        if self.outcome is not None or self.paused:
            return
        if self._busy:
            self._latest = (bid, ask)  # decided on when the request in flight returns: latest wins
            return
        self._busy = True
        try:
            quote: tuple[Decimal, Decimal] | None = (bid, ask)
            while quote is not None and self.outcome is None:
                self._last_quote = quote
                now, governor = self.clock.now_ms(), self.governor
                allowed = governor is None or governor.available(now)
                self.state, decision = chase_on_quote(self.state, self.params, *quote, now, reprice_allowed=allowed)
                if governor is not None and decision.action is ChaseAction.REPRICE:
                    governor.take(now)
                if decision.action is not ChaseAction.HOLD:  # most quotes: no coroutine for nothing to do
                    await self._act(decision)
                quote, self._latest = self._latest, None
        finally:
            self._busy = False
        self._schedule_wake()

    def _schedule_wake(self) -> None:
        """A held reprice is decided again when the throttle (or the desk's budget) lets it go, quote or not."""
        at = chase_wake_at(self.state, self.params) if self.outcome is None and not self.paused else None
        if at is None or self.timers is None:
            return
        if self.governor is not None:
            at = max(at, self.governor.next_at(self.clock.now_ms()))
        if self._wake_at is not None and self._wake_at <= at:
            return  # a wake-up at or before this one is already due
        self._wake_at = at
        self.timers.call_at(at, self._wake)

    async def _wake(self) -> None:
        self._wake_at = None
        if self._last_quote is not None and self.outcome is None and not self.paused:
            await self.on_quote(*self._last_quote)

    async def stop(self, reason: str = "stopped by operator") -> None:
        if self.outcome is None:
            await self._finish(f"cancelled: {reason}", "chase_cancelled", reason)

    async def pause(self) -> None:
        """Cancel the working order and keep the state; resume() places again on the next quote."""
        self.paused, self.significant = True, True
        await self._cancel_working()
        self._progress(self.state.working_price or ZERO, "paused")

    async def resume(self) -> None:
        self.paused, self.significant = False, True

    async def _act(self, decision: ChaseDecision) -> None:
        if decision.action is ChaseAction.PLACE:
            await self._place(decision)
        elif decision.action is ChaseAction.REPRICE:
            await self._reprice(decision)
        elif decision.action is ChaseAction.CANCEL:
            await self._finish(f"cancelled: {decision.reason}", "chase_cancelled", decision.reason)
        elif decision.action is ChaseAction.DONE:
            await self._finish("filled", "chase_filled", "")

    async def _place(self, decision: ChaseDecision) -> None:
        assert decision.price is not None and decision.quantity is not None  # noqa: S101 - PLACE carries both
        result = await self.manager.place(
            OrderIntent(self.sub_account_id, self.symbol, self.params.side, OrderType.LIMIT, decision.quantity,
                        decision.price, TimeInForce.GTX, origin=self.origin, algo_run_id=self.algo_run_id),
            on_fill=self._on_fill)
        self._took(result, decision.price)

    async def _reprice(self, decision: ChaseDecision) -> None:
        assert decision.price is not None  # noqa: S101 - REPRICE carries a price
        if self.client_order_id is None:
            await self._place(decision)
            return
        result = await self.manager.replace(self.client_order_id, price=decision.price, on_fill=self._on_fill)
        self.reprices += 1
        self._took(result, decision.price)

    def _took(self, result: OrderResult, price: Decimal) -> None:
        self.significant = True
        if result.ok:
            self.client_order_id = result.client_order_id
        else:  # refused (post-only would take, paused, risk): nothing works now; the next quote decides again
            self.client_order_id = None
            self.state = replace(self.state, working_price=None)
        self._progress(price, result.reason)

    def _on_fill(self, order: JournaledOrder, report: FillReport) -> None:
        self.state = chase_on_fill(self.state, self.params, report.quantity)
        self.significant = True
        if self.fill_listener is not None:
            self.fill_listener(report)
        self._progress(report.price, "fill")
        if chase_is_done(self.state, self.params, report.price) and self.outcome is None:
            self.outcome = "filled"
            self.state = replace(self.state, finished=True)
            self._event("chase_filled", {"filled": self.state.filled, "reprices": self.reprices})

    async def _finish(self, outcome: str, event: str, reason: str) -> None:
        self.outcome = outcome
        self.state = replace(self.state, finished=True)
        await self._cancel_working()
        self._event(event, {"filled": self.state.filled, "reprices": self.reprices, "reason": reason})

    async def _cancel_working(self) -> None:
        if self.client_order_id is not None and self.client_order_id in self.manager.live:
            await self.manager.cancel(self.client_order_id)
        self.client_order_id = None
        if self.state.working_price is not None:  # replace() is slow and every finishing chase comes here
            self.state = replace(self.state, working_price=None)

    def _progress(self, price: Decimal, note: str) -> None:
        if self.publish is discard_events:  # nobody watches (a benchmark's backtest): build nothing
            return
        self._event("chase_progress", {"price": price, "filled": self.state.filled,
                                       "remaining": chase_remaining(self.state, self.params),
                                       "reprices": self.reprices, "client_order_id": self.client_order_id,
                                       "note": note})

    def _event(self, kind: str, data: dict[str, object]) -> None:
        self.publish(account_group(self.sub_account_id), kind, {"algo_run_id": self.algo_run_id,
                                                               "symbol": self.symbol, **data})
