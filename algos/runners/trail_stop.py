"""TrailStopRunner: watches the mid and closes the sub-account's position with a market order on trigger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from algos.domain.trail_stop import TrailAction, TrailParams, TrailState, trail_on_mid, trail_stop_price
from algos.runners.snapshot import dec, undec
from trading.domain.client_ids import OrderOrigin
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType
from trading.engine.hooks import EventSink, discard_events
from trading.engine.order_manager import OrderManager
from trading.events import account_group

TWO = Decimal(2)


class TrailStopRunner:
    kind = "trailstop"

    def __init__(self, *, algo_run_id: int | None, sub_account_id: int, symbol: str, params: TrailParams,
                 manager: OrderManager, publish: EventSink = discard_events) -> None:
        self.algo_run_id, self.sub_account_id, self.symbol, self.params = algo_run_id, sub_account_id, symbol, params
        self.manager, self.publish = manager, publish
        self.state = TrailState()
        self.outcome: str | None = None
        self.paused = False
        self.significant = False

    async def on_quote(self, bid: Decimal, ask: Decimal) -> None:
        if self.outcome is not None or self.paused:
            return
        before = self.state
        self.state, decision = trail_on_mid(self.state, self.params, (bid + ask) / TWO)
        if decision.action is TrailAction.TRIGGER:
            self.significant = True
            await self._close(decision.reason)
        elif self.state is not before and self.state != before:  # unchanged is the same object: no compare
            self.significant = self.state.armed != before.armed  # a new extreme is saved on the 1 s throttle
            self._event("trail_stop_progress", {"armed": self.state.armed, "extreme": self.state.extreme,
                                                "stop_price": self.stop_price})

    @property
    def stop_price(self) -> Decimal | None:
        return trail_stop_price(self.params, self.state.extreme) if self.state.extreme is not None else None

    async def pause(self) -> None:
        self.paused, self.significant = True, True

    async def resume(self) -> None:
        self.paused, self.significant = False, True

    def snapshot(self) -> dict[str, Any]:
        return {"armed": self.state.armed, "extreme": dec(self.state.extreme), "paused": self.paused}

    def restore(self, saved: dict[str, Any]) -> None:
        """The high- or low-water mark survives a restart, so the stop does not loosen."""
        self.state = TrailState(armed=bool(saved.get("armed")), extreme=undec(saved.get("extreme")))
        self.paused = bool(saved.get("paused", False))

    async def stop(self, reason: str = "stopped by operator") -> None:
        if self.outcome is None:
            self.outcome = f"cancelled: {reason}"
            self._event("trail_stop_cancelled", {"reason": reason})

    async def _close(self, reason: str) -> None:
        quantity = abs(self.manager.positions.of(self.sub_account_id, self.symbol))
        self.outcome = "triggered"
        if quantity == 0:
            self._event("trail_stop_triggered", {"reason": reason, "note": "no position left to close"})
            return
        side = self.params.position_side.opposite
        result = await self.manager.place(OrderIntent(
            self.sub_account_id, self.symbol, side, OrderType.MARKET, quantity, reduce_only=True,
            origin=OrderOrigin.TRS, algo_run_id=self.algo_run_id))
        self._event("trail_stop_triggered", {"reason": reason, "quantity": quantity, "ok": result.ok,
                                             "client_order_id": result.client_order_id, "note": result.reason})

    def _event(self, kind: str, data: dict[str, object]) -> None:
        self.publish(account_group(self.sub_account_id), kind, {"algo_run_id": self.algo_run_id,
                                                               "symbol": self.symbol, **data})
