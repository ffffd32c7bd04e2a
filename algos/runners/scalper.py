"""ScalperRunner: layered quotes on both sides of the mid, each layer a chase, with backoff, fill-rate limits,
loss protection and per-slot PnL."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from algos.domain.chase import ChaseParams, StalkMode
from algos.domain.layers import (
    BPS,
    FILL_WINDOW_MS,
    FillWindow,
    SlotPnl,
    fill_window_allows,
    fill_window_record,
    layer_prices,
    slot_backoff_ms,
    slot_pnl_record,
)
from algos.governor import RepriceGovernor
from algos.runners.chase import ChaseRunner
from algos.runners.snapshot import dec, undec0
from algos.runners.timers import Timers
from core.clock import SYSTEM_CLOCK, Clock
from core.money import ZERO, round_down_to_step
from trading.domain.client_ids import OrderOrigin
from trading.domain.instruments import InstrumentRules
from trading.domain.records import FillReport
from trading.domain.types import Side
from trading.engine.hooks import EventSink, discard_events
from trading.engine.order_manager import OrderManager
from trading.events import account_group

TWO = Decimal(2)


@dataclass(frozen=True, slots=True)
class ScalperParams:
    """Validated by algos.domain.params.scalper_params. Offsets are basis points of the mid."""

    rules: InstrumentRules
    sides: tuple[Side, ...]
    sizes: tuple[Decimal, ...]  # per layer, innermost first; the same on each side
    offsets_bps: tuple[Decimal, ...]
    base_delay_ms: int = 1_000
    max_fills_per_minute: int = 30
    max_loss_bps: Decimal = Decimal(50)
    max_position: Decimal = ZERO  # |inventory| cap; 0 means the per-side total
    reprice_throttle_ms: int = 500
    max_distance_pct: Decimal = Decimal(1)


@dataclass
class Slot:
    side: Side
    layer: int
    size: Decimal
    offset_bps: Decimal
    chase: ChaseRunner | None = None
    rearm_at_ms: int = 0
    consecutive_fills: int = 0
    last_fill_ms: int | None = None
    pnl: SlotPnl = field(default_factory=SlotPnl)
    blocked: str = ""

    @property
    def name(self) -> str:
        return f"{self.side.value}{self.layer}"


class ScalperRunner:
    kind = "scalper"

    def __init__(self, *, algo_run_id: int | None, sub_account_id: int, params: ScalperParams,
                 manager: OrderManager, clock: Clock = SYSTEM_CLOCK, publish: EventSink = discard_events,
                 timers: Timers | None = None, governor: RepriceGovernor | None = None) -> None:
        self.algo_run_id, self.sub_account_id, self.params = algo_run_id, sub_account_id, params
        self.manager, self.clock, self.publish = manager, clock, publish
        self.timers, self.governor = timers, governor  # handed to every layer's chase
        self.slots = [Slot(side, layer, size, offset) for side in params.sides
                      for layer, (size, offset) in enumerate(zip(params.sizes, params.offsets_bps, strict=True))]
        self.position = ZERO  # the scalper's own inventory, signed
        self.entry_price = ZERO  # its average entry
        self.window = FillWindow()
        self.outcome: str | None = None
        self.paused = False
        self.significant = False
        self.max_position = params.max_position if params.max_position > 0 else sum(params.sizes, ZERO)

    @property
    def symbol(self) -> str:
        return self.params.rules.symbol

    async def on_quote(self, bid: Decimal, ask: Decimal) -> None:
        if self.outcome is not None or self.paused or bid <= 0 or ask <= 0 or bid > ask:
            return
        now, mid = self.clock.now_ms(), (bid + ask) / TWO
        for slot in self.slots:
            if slot.chase is not None:
                loss = self._close_loss_reason(slot, mid)
                if loss:
                    await self._block(slot, loss)
                    continue
                await slot.chase.on_quote(bid, ask)
                if slot.chase.outcome is not None:
                    self._slot_finished(slot, now)
            elif self._may_arm(slot, mid, now):
                await self._arm(slot, mid, bid, ask)

    async def stop(self, reason: str = "stopped by operator") -> None:
        if self.outcome is None:
            self.outcome = f"cancelled: {reason}"
            await self._cancel_children(reason)
            self._event("scalper_cancelled", {"reason": reason, **self._totals()})

    async def pause(self) -> None:
        self.paused, self.significant = True, True
        await self._cancel_children("paused")

    async def resume(self) -> None:
        self.paused, self.significant = False, True

    # -- slots -------------------------------------------------------------------------------------
    def _may_arm(self, slot: Slot, mid: Decimal, now: int) -> bool:
        if now < slot.rearm_at_ms or not fill_window_allows(self.window, slot.side, now,
                                                            self.params.max_fills_per_minute):
            return False
        loss = self._close_loss_reason(slot, mid)
        if loss:
            if slot.blocked != loss:
                slot.blocked = loss
                self._progress(slot, "blocked", loss)
            return False
        slot.blocked = ""
        return self._quantity_for(slot) > 0

    def _quantity_for(self, slot: Slot) -> Decimal:
        """The slot's size, cut so the inventory stays within max_position; 0 when nothing valid fits."""
        signed = slot.size if slot.side is Side.BUY else -slot.size
        working = sum(((s.chase.params.quantity - s.chase.state.filled) * (1 if s.side is Side.BUY else -1)
                       for s in self.slots if s.chase is not None and s.chase.outcome is None), ZERO)
        after = self.position + working + signed
        if abs(after) <= self.max_position or abs(after) < abs(self.position + working):
            return slot.size
        room = self.max_position - abs(self.position + working)
        size = round_down_to_step(min(slot.size, room), self.params.rules.step_size) if room > 0 else ZERO
        return size if size >= self.params.rules.min_qty else ZERO

    def _close_loss_reason(self, slot: Slot, mid: Decimal) -> str:
        """A slot that would reduce the inventory at a loss beyond max_loss_bps against the entry waits."""
        closing = (self.position > 0 and slot.side is Side.SELL) or (self.position < 0 and slot.side is Side.BUY)
        if not closing or self.entry_price <= 0:
            return ""
        (price,) = layer_prices(mid, slot.side, [slot.offset_bps], self.params.rules.tick_size)
        loss = self.entry_price - price if slot.side is Side.SELL else price - self.entry_price
        loss_bps = loss / self.entry_price * BPS
        if loss_bps > self.params.max_loss_bps:
            return (f"closing at {price} would lose {loss_bps:.1f} bps against the entry {self.entry_price:.8g} "
                    f"(max {self.params.max_loss_bps})")
        return ""

    async def _arm(self, slot: Slot, mid: Decimal, bid: Decimal, ask: Decimal) -> None:
        quantity = self._quantity_for(slot)
        rules = self.params.rules
        half_spread = (ask - bid) / TWO
        distance = mid * slot.offset_bps / BPS - half_spread  # from the touch, where a chase measures
        ticks = int((distance / rules.tick_size).to_integral_value(rounding=ROUND_CEILING)) if distance > 0 else 0
        try:
            params = ChaseParams(side=slot.side, quantity=quantity, rules=rules, offset_ticks=min(ticks, 1000),
                                 stalk_mode=StalkMode.MAINTAIN, reprice_throttle_ms=self.params.reprice_throttle_ms,
                                 max_distance_pct=self.params.max_distance_pct)
        except ValueError as exc:
            slot.blocked = str(exc)
            return
        slot.chase = ChaseRunner(algo_run_id=self.algo_run_id, sub_account_id=self.sub_account_id, params=params,
                                 manager=self.manager, clock=self.clock, publish=self._child_events(slot),
                                 origin=OrderOrigin.SCL, fill_listener=lambda report: self._on_fill(slot, report),
                                 timers=self.timers, governor=self.governor)
        self.significant = True
        await slot.chase.on_quote(bid, ask)

    def _slot_finished(self, slot: Slot, now: int) -> None:
        chase, slot.chase = slot.chase, None
        assert chase is not None  # noqa: S101 - called only for a slot with a chase
        if chase.outcome == "filled":
            if slot.last_fill_ms is not None and now - slot.last_fill_ms > FILL_WINDOW_MS:
                slot.consecutive_fills = 0  # a quiet minute resets the streak
            slot.consecutive_fills += 1
            slot.last_fill_ms = now
            slot.rearm_at_ms = now + slot_backoff_ms(self.params.base_delay_ms, slot.consecutive_fills)
            self.window = fill_window_record(self.window, slot.side, now)
            self._event("scalper_filled", {"slot": slot.name, "side": slot.side.value, "filled": chase.state.filled,
                                           "rearm_at_ms": slot.rearm_at_ms, "slot_pnl": slot.pnl.realized,
                                           "slot_pnl_ema": slot.pnl.ema, **self._totals()})
        else:  # drifted away or refused: quote again around the new mid at once
            slot.rearm_at_ms = now
        self.significant = True

    def _on_fill(self, slot: Slot, report: FillReport) -> None:
        signed = report.quantity if report.side is Side.BUY else -report.quantity
        position, entry = self.position, self.entry_price
        if position == 0 or (position > 0) == (signed > 0):  # opening or adding
            total = abs(position) + report.quantity
            self.entry_price = (entry * abs(position) + report.price * report.quantity) / total
            self.position = position + signed
        else:  # reducing, closing or flipping: realize on the closed part, attributed to this slot
            closed = min(abs(position), report.quantity)
            direction = Decimal(1) if position > 0 else Decimal(-1)
            slot.pnl = slot_pnl_record(slot.pnl, (report.price - entry) * closed * direction)
            self.position = position + signed
            if self.position == 0:
                self.entry_price = ZERO
            elif (self.position > 0) != (position > 0):
                self.entry_price = report.price
        self.significant = True

    async def _block(self, slot: Slot, reason: str) -> None:
        chase, slot.chase = slot.chase, None
        if chase is not None:
            await chase.stop("loss protection")
        slot.blocked = reason
        self._progress(slot, "blocked", reason)

    async def _cancel_children(self, reason: str) -> None:
        for slot in self.slots:
            chase, slot.chase = slot.chase, None
            if chase is not None:
                await chase.stop(reason)

    # -- persistence -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"position": dec(self.position), "entry_price": dec(self.entry_price), "paused": self.paused,
                "window": {"buys": list(self.window.buys), "sells": list(self.window.sells)},
                "slots": {slot.name: {"rearm_at_ms": slot.rearm_at_ms, "consecutive_fills": slot.consecutive_fills,
                                      "last_fill_ms": slot.last_fill_ms, "pnl_realized": dec(slot.pnl.realized),
                                      "pnl_ema": dec(slot.pnl.ema), "pnl_trades": slot.pnl.trades}
                          for slot in self.slots}}

    def restore(self, saved: dict[str, Any]) -> None:
        """Inventory, backoffs, fill windows and slot PnL carry over; working layers are placed afresh."""
        self.position, self.entry_price = undec0(saved.get("position")), undec0(saved.get("entry_price"))
        self.paused = bool(saved.get("paused", False))
        window = saved.get("window") or {}
        self.window = FillWindow(tuple(window.get("buys", ())), tuple(window.get("sells", ())))
        for slot in self.slots:
            state = (saved.get("slots") or {}).get(slot.name)
            if state:
                slot.rearm_at_ms, slot.consecutive_fills = int(state["rearm_at_ms"]), int(state["consecutive_fills"])
                slot.last_fill_ms = state.get("last_fill_ms")
                slot.pnl = SlotPnl(undec0(state.get("pnl_realized")), undec0(state.get("pnl_ema")),
                                   int(state.get("pnl_trades", 0)))

    # -- events ------------------------------------------------------------------------------------
    def _child_events(self, slot: Slot) -> EventSink:
        def publish(group: str, kind: str, data: dict[str, Any]) -> None:
            if kind == "chase_progress":  # the slot's own chase events stay inside; the desk sees the scalper
                self._progress(slot, str(data.get("note", "")), "", price=data.get("price"))

        return publish

    def _progress(self, slot: Slot, note: str, reason: str, price: object = None) -> None:
        self._event("scalper_progress", {"slot": slot.name, "side": slot.side.value, "note": note, "reason": reason,
                                         "price": price, **self._totals()})

    def _totals(self) -> dict[str, object]:
        return {"position": self.position, "entry_price": self.entry_price,
                "realized": sum((slot.pnl.realized for slot in self.slots), ZERO),
                "working": sum(1 for slot in self.slots if slot.chase is not None)}

    def _event(self, kind: str, data: dict[str, object]) -> None:
        self.publish(account_group(self.sub_account_id), kind, {"algo_run_id": self.algo_run_id,
                                                               "symbol": self.symbol, **data})
