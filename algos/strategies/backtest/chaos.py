"""Chaos for strategy backtests: a strategy that misbehaves from a given time, or exchange faults in a window.

`flood@T[/N]` the strategy adds N limit orders (default 50) to every callback from T; `raise@T` every callback
raises from T; `reject@T[/SECONDS]` the exchange rejects new orders for SECONDS (default 600) from T (-2019
margin insufficient); `halt@T` a manual kill switch on the strategy's scope. T is an ISO UTC time
(2025-06-20T12:00) or an offset from the first bar (+3d, +36h, +90m).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from algos.strategies.base import (
    Bar,
    RiskBreach,
    Signal,
    SignalKind,
    Signals,
    Strategy,
    StrategyContext,
    StrategyFill,
    Tick,
    TradePrint,
)
from trading.domain.types import Side

KINDS = ("flood", "raise", "reject", "halt")
_OFFSET = re.compile(r"^\+(\d+)([dhm])$")
_OFFSET_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000}


class ChaosError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ChaosEvent:
    kind: str
    at_ms: int
    amount: int = 0  # flood: orders per callback; reject: seconds

    @property
    def until_ms(self) -> int:
        return self.at_ms + self.amount * 1000 if self.kind == "reject" else 2**62


def chaos_parse(text: str, *, first_ms: int) -> ChaosEvent:
    """KIND@WHEN[/AMOUNT], e.g. flood@+3d/80, reject@2025-06-20T12:00/900, raise@+10d."""
    kind, sep, rest = text.partition("@")
    kind = kind.strip().lower()
    if not sep or kind not in KINDS:
        raise ChaosError(f"chaos takes KIND@WHEN[/AMOUNT] with KIND one of {', '.join(KINDS)}, got {text!r}")
    when, _, amount_text = rest.partition("/")
    at_ms = _when(when.strip(), first_ms)
    default = {"flood": 50, "reject": 600}.get(kind, 0)
    try:
        amount = int(amount_text) if amount_text else default
    except ValueError:
        raise ChaosError(f"chaos amount must be a whole number, got {amount_text!r}") from None
    if amount < 0:
        raise ChaosError(f"chaos amount must not be negative, got {amount}")
    return ChaosEvent(kind, at_ms, amount)


def _when(text: str, first_ms: int) -> int:
    offset = _OFFSET.match(text)
    if offset:
        return first_ms + int(offset.group(1)) * _OFFSET_MS[offset.group(2)]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ChaosError(f"chaos time must be ISO (2025-06-20T12:00, UTC) or +N[dhm], got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class ChaosStrategy:
    """Wraps a strategy: it behaves until a flood or raise event's time, then misbehaves on every callback."""

    def __init__(self, inner: Strategy, events: Sequence[ChaosEvent]) -> None:
        self.inner = inner
        self.info = inner.info
        self.events = tuple(event for event in events if event.kind in ("flood", "raise"))
        self._last_price: dict[str, Decimal] = {}

    def __getattr__(self, name: str) -> Any:  # preload, counters, closed, ... of the wrapped strategy
        return getattr(self.inner, name)

    def symbols(self) -> tuple[str, ...]:
        return self.inner.symbols()

    def timeframes(self) -> tuple[str, ...]:
        return self.inner.timeframes()

    def _chaos(self, ctx: StrategyContext, signals: Signals) -> Signals:
        extra: list[Signal] = []
        for event in self.events:
            if ctx.now_ms < event.at_ms:
                continue
            if event.kind == "raise":
                raise RuntimeError(f"chaos: the strategy raises from {event.at_ms}")
            extra.extend(self._flood(ctx, event.amount))
        return [*signals, *extra] if extra else signals

    def _flood(self, ctx: StrategyContext, count: int) -> list[Signal]:
        orders: list[Signal] = []
        for symbol, price in self._last_price.items():
            rules = ctx.instruments.get(symbol)
            if rules is None:
                continue
            limit = (price * Decimal("0.97") / rules.tick_size).quantize(Decimal(1), rounding=ROUND_DOWN) \
                * rules.tick_size
            quantity = max(rules.min_qty, (rules.min_notional * 2 / limit).quantize(rules.step_size))
            orders.extend(Signal(symbol, Side.BUY, quantity, SignalKind.LIMIT, limit, reason="chaos flood")
                          for _ in range(count))
        return orders

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        self._last_price[tick.symbol] = tick.mid
        return self._chaos(ctx, self.inner.on_tick(ctx, tick))

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> Signals:
        self._last_price[bar.symbol] = bar.close
        return self._chaos(ctx, self.inner.on_bar(ctx, bar))

    def on_trade(self, ctx: StrategyContext, trade: TradePrint) -> Signals:
        return self.inner.on_trade(ctx, trade)

    def on_fill(self, ctx: StrategyContext, fill: StrategyFill) -> Signals:
        return self.inner.on_fill(ctx, fill)

    def on_risk_breach(self, ctx: StrategyContext, breach: RiskBreach) -> Signals:
        return self.inner.on_risk_breach(ctx, breach)
