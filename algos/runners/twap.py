"""TwapRunner: lots of one or more legs (a basket) as market orders through the OrderManager."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from algos.domain.twap import TwapLeg, TwapSlice, TwapState, twap_basket_progress, twap_due
from core.clock import SYSTEM_CLOCK, Clock
from trading.domain.client_ids import OrderOrigin
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType
from trading.engine.hooks import EventSink, discard_events
from trading.engine.order_manager import OrderManager
from trading.events import account_group


class TwapRunner:
    """Call `on_tick` with the current mids (a timer or every quote); due lots go out as market orders.

    A lot the OrderManager refuses (paused, risk, rate) is sent again on the next tick, so the total
    stays exact; a lot skipped because the mid is beyond the leg's limit rolls forward inside the plan.
    """

    def __init__(self, *, algo_run_id: int | None, sub_account_id: int, legs: Sequence[TwapLeg],
                 manager: OrderManager, clock: Clock = SYSTEM_CLOCK, publish: EventSink = discard_events) -> None:
        self.algo_run_id, self.sub_account_id = algo_run_id, sub_account_id
        self.legs = list(legs)
        self.states = [TwapState() for _ in self.legs]
        self.refused = [Decimal(0) for _ in self.legs]  # refused lots, sent again on the next tick
        self.manager, self.clock, self.publish = manager, clock, publish
        self.outcome: str | None = None

    async def on_tick(self, mids: Mapping[str, Decimal]) -> None:
        if self.outcome is not None:
            return
        now = self.clock.now_ms()
        for index, leg in enumerate(self.legs):
            if self.refused[index] > 0 and mids.get(leg.symbol) is not None:
                retry, self.refused[index] = self.refused[index], Decimal(0)
                self.states[index] = replace(self.states[index], sent=self.states[index].sent + retry)
                await self._send(index, TwapSlice(leg.symbol, leg.side, retry))
            state, slices = twap_due(leg, self.states[index], now, mids.get(leg.symbol))
            self.states[index] = state
            for piece in slices:
                await self._send(index, piece)
        self._event("twap_progress", {"progress": twap_basket_progress(self.legs, self.states),
                                      "sent": {leg.symbol: state.sent for leg, state in zip(self.legs, self.states,
                                                                                              strict=True)}})
        if all(state.finished for state in self.states) and not any(self.refused):
            self.outcome = "completed"
            self._event("twap_completed", {"unexecuted": {leg.symbol: state.unexecuted for leg, state in
                                                          zip(self.legs, self.states, strict=True)}})

    async def stop(self, reason: str = "stopped by operator") -> None:
        if self.outcome is None:
            self.outcome = f"cancelled: {reason}"
            self._event("twap_cancelled", {"reason": reason,
                                           "progress": twap_basket_progress(self.legs, self.states)})

    async def _send(self, index: int, piece: TwapSlice) -> None:
        result = await self.manager.place(OrderIntent(
            self.sub_account_id, piece.symbol, piece.side, OrderType.MARKET, piece.quantity,
            origin=OrderOrigin.TWP, algo_run_id=self.algo_run_id))
        if not result.ok:  # nothing was sent: the quantity goes out again on the next tick
            self.states[index] = replace(self.states[index], sent=self.states[index].sent - piece.quantity)
            self.refused[index] += piece.quantity
            self._event("twap_progress", {"symbol": piece.symbol, "refused": piece.quantity,
                                          "reason": result.reason})

    def _event(self, kind: str, data: dict[str, object]) -> None:
        self.publish(account_group(self.sub_account_id), kind, {"algo_run_id": self.algo_run_id, **data})
