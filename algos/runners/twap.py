"""TwapRunner: lots of one or more legs (a basket) as market orders through the OrderManager."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from algos.domain.twap import Lot, TwapLeg, TwapSlice, TwapState, twap_basket_progress, twap_due, twap_shift
from algos.runners.snapshot import dec, undec, undec0
from core.clock import SYSTEM_CLOCK, Clock
from core.faultpoints import crash_point
from core.money import ZERO
from trading.domain.client_ids import OrderOrigin
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType, Side
from trading.engine.hooks import EventSink, discard_events
from trading.engine.order_manager import OrderManager
from trading.events import account_group


async def _no_checkpoint() -> None:
    return None


class TwapRunner:
    """Call `on_tick` with the current mids (a timer or every quote); due lots go out as market orders.

    A lot the OrderManager refuses (paused, risk, rate) is sent again on the next tick, so the total
    stays exact; a lot skipped because the mid is beyond the leg's limit rolls forward inside the plan.
    Before a lot goes out the runner's state is checkpointed (write-ahead), so after a crash the saved
    `sent` is never below what reached the exchange; restore() then trusts the booked fills.
    """

    kind = "twap"

    def __init__(self, *, algo_run_id: int | None, sub_account_id: int, legs: Sequence[TwapLeg],
                 manager: OrderManager, clock: Clock = SYSTEM_CLOCK, publish: EventSink = discard_events) -> None:
        self.algo_run_id, self.sub_account_id = algo_run_id, sub_account_id
        self.legs = list(legs)
        self.states = [TwapState() for _ in self.legs]
        self.refused = [ZERO for _ in self.legs]  # refused lots, sent again on the next tick
        self.manager, self.clock, self.publish = manager, clock, publish
        self.outcome: str | None = None
        self.paused_at_ms: int | None = None
        self.significant = False
        self.checkpoint: Callable[[], Awaitable[None]] = _no_checkpoint

    @property
    def paused(self) -> bool:
        return self.paused_at_ms is not None

    async def on_tick(self, mids: Mapping[str, Decimal]) -> None:
        if self.outcome is not None or self.paused:
            return
        now = self.clock.now_ms()
        for index, leg in enumerate(self.legs):
            if self.refused[index] > 0 and mids.get(leg.symbol) is not None:
                retry, self.refused[index] = self.refused[index], ZERO
                self.states[index] = replace(self.states[index], sent=self.states[index].sent + retry)
                await self._send(index, TwapSlice(leg.symbol, leg.side, retry))
            state, slices = twap_due(leg, self.states[index], now, mids.get(leg.symbol))
            if state != self.states[index]:
                self.significant = True
            self.states[index] = state
            for piece in slices:
                await self._send(index, piece)
        self._event("twap_progress", {"progress": twap_basket_progress(self.legs, self.states),
                                      "sent": {leg.symbol: state.sent for leg, state in zip(self.legs, self.states,
                                                                                              strict=True)}})
        if all(state.finished for state in self.states) and not any(self.refused):
            self.outcome = "completed"
            self.significant = True
            self._event("twap_completed", {"unexecuted": {leg.symbol: state.unexecuted for leg, state in
                                                          zip(self.legs, self.states, strict=True)}})

    async def stop(self, reason: str = "stopped by operator") -> None:
        if self.outcome is None:
            self.outcome = f"cancelled: {reason}"
            self._event("twap_cancelled", {"reason": reason,
                                           "progress": twap_basket_progress(self.legs, self.states)})

    async def pause(self) -> None:
        if self.paused_at_ms is None:
            self.paused_at_ms, self.significant = self.clock.now_ms(), True
            self._event("twap_progress", {"paused": True, "progress": twap_basket_progress(self.legs, self.states)})

    async def resume(self) -> None:
        """The lots not yet due move later by the time spent paused: the pacing is kept, not compressed."""
        if self.paused_at_ms is None:
            return
        delta = max(0, self.clock.now_ms() - self.paused_at_ms)
        self.legs = [twap_shift(leg, state.next_index, delta) for leg, state in zip(self.legs, self.states,
                                                                                  strict=True)]
        self.paused_at_ms, self.significant = None, True

    # -- persistence -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"legs": [{"symbol": leg.symbol, "side": leg.side.value, "limit_price": dec(leg.limit_price),
                          "lots": [[lot.at_ms, str(lot.quantity)] for lot in leg.lots]} for leg in self.legs],
                "states": [{"next_index": s.next_index, "carried": dec(s.carried), "sent": dec(s.sent),
                            "unexecuted": dec(s.unexecuted), "finished": s.finished} for s in self.states],
                "refused": [dec(value) for value in self.refused], "paused_at_ms": self.paused_at_ms}

    def restore(self, saved: dict[str, Any], *, filled: Mapping[str, Decimal]) -> None:
        """Continue the saved schedule. What was counted as sent but is not booked (an order that never
        left, was rejected or expired) is sent again on the next tick, so the total stays exact."""
        self.legs = [TwapLeg(leg["symbol"], Side(leg["side"]), tuple(Lot(int(at), Decimal(qty))
                                                                      for at, qty in leg["lots"]),
                             undec(leg.get("limit_price"))) for leg in saved["legs"]]
        self.states = [TwapState(next_index=int(s["next_index"]), carried=undec0(s.get("carried")),
                                 sent=undec0(s.get("sent")), unexecuted=undec0(s.get("unexecuted")),
                                 finished=bool(s.get("finished"))) for s in saved["states"]]
        self.refused = [undec0(value) for value in saved.get("refused", [])] or [ZERO] * len(self.legs)
        self.paused_at_ms = saved.get("paused_at_ms")
        for index, leg in enumerate(self.legs):
            booked = filled.get(leg.symbol, ZERO)
            state = self.states[index]
            missing = state.sent - booked
            if missing > 0:
                self.states[index] = replace(state, sent=booked)
                self.refused[index] += missing

    # -- internals ---------------------------------------------------------------------------------
    async def _send(self, index: int, piece: TwapSlice) -> None:
        await self.checkpoint()  # write-ahead: the saved `sent` covers this lot before it can reach the venue
        crash_point("twap.checkpointed")
        result = await self.manager.place(OrderIntent(
            self.sub_account_id, piece.symbol, piece.side, OrderType.MARKET, piece.quantity,
            origin=OrderOrigin.TWP, algo_run_id=self.algo_run_id))
        self.significant = True
        if not result.ok:  # nothing was sent: the quantity goes out again on the next tick
            self.states[index] = replace(self.states[index], sent=self.states[index].sent - piece.quantity)
            self.refused[index] += piece.quantity
            self._event("twap_progress", {"symbol": piece.symbol, "refused": piece.quantity,
                                          "reason": result.reason})

    def _event(self, kind: str, data: dict[str, object]) -> None:
        self.publish(account_group(self.sub_account_id), kind, {"algo_run_id": self.algo_run_id, **data})
