"""Misbehaving strategies (seed) for testing the controls: each runs like any strategy and misbehaves on purpose.

- runaway: 100 orders on every tick.
- risk_ignorant: buys on every tick and doubles its size after each refusal or breach.
- volatility_amplifier: chases every 1 % move with twice the last size.
- correlation_breaker: shorts ETH whenever BTC rises.
- slow_leak: trades in and out; each trade raises the chance that its next callback fails.

Pure and deterministic (a seeded random source), like every strategy: the runtime and the risk engine are
what must stop them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from algos.strategies.base import (
    BaseStrategy,
    RiskBreach,
    Signal,
    SignalKind,
    Signals,
    StrategyContext,
    StrategyFill,
    StrategyInfo,
    Tick,
)
from trading.domain.types import Side

D = Decimal


def _decimal(parameters: dict[str, Any], name: str, default: str) -> Decimal:
    value = Decimal(str(parameters.get(name, default)))
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {parameters.get(name)!r}")
    return value


class Runaway(BaseStrategy):
    """`count` orders per tick: resting limit buys `offset_pct` below the bid (or market orders)."""

    info = StrategyInfo("runaway", "1", {"count": 100, "quantity": "0.002", "offset_pct": "2", "order_type": "limit"})

    def __init__(self, symbols: Sequence[str] = (), **parameters: Any) -> None:
        super().__init__(symbols, **parameters)
        self.count = int(parameters.get("count", 100))
        self.quantity = _decimal(parameters, "quantity", "0.002")
        self.offset = _decimal(parameters, "offset_pct", "2") / 100
        self.kind = SignalKind(str(parameters.get("order_type", "limit")))

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        price = tick.bid * (1 - self.offset) if self.kind is SignalKind.LIMIT else None
        return [Signal(tick.symbol, Side.BUY, self.quantity, self.kind, price, reason="runaway")
                for _ in range(self.count)]


class RiskIgnorant(BaseStrategy):
    """Buys `quantity` every `every` ticks; every refusal or breach doubles the size and it tries again at once."""

    info = StrategyInfo("risk_ignorant", "1", {"quantity": "0.01", "every": 1})

    def __init__(self, symbols: Sequence[str] = (), **parameters: Any) -> None:
        super().__init__(symbols, **parameters)
        self.quantity = _decimal(parameters, "quantity", "0.01")
        self.every = max(1, int(parameters.get("every", 1)))
        self.ticks = 0
        self.breaches = 0

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        self.ticks += 1
        if self.ticks % self.every:
            return ()
        return [Signal(tick.symbol, Side.BUY, self.quantity, reason="risk-ignorant entry")]

    def on_risk_breach(self, ctx: StrategyContext, breach: RiskBreach) -> Signals:
        self.breaches += 1
        self.quantity *= 2
        return [Signal(self.symbols()[0], Side.BUY, self.quantity, reason=f"doubling down after: {breach.reason}")]


class VolatilityAmplifier(BaseStrategy):
    """Each move of `move_pct` from the last reference price is chased in its direction, at `multiplier` × the
    previous size."""

    info = StrategyInfo("volatility_amplifier", "1", {"quantity": "0.002", "move_pct": "1", "multiplier": "2"})

    def __init__(self, symbols: Sequence[str] = (), **parameters: Any) -> None:
        super().__init__(symbols, **parameters)
        self.quantity = _decimal(parameters, "quantity", "0.002")
        self.move = _decimal(parameters, "move_pct", "1") / 100
        self.multiplier = _decimal(parameters, "multiplier", "2")
        self.reference: Decimal | None = None

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        if self.reference is None:
            self.reference = tick.mid
            return ()
        change = (tick.mid - self.reference) / self.reference
        if abs(change) < self.move:
            return ()
        self.reference = tick.mid
        self.quantity *= self.multiplier
        side = Side.BUY if change > 0 else Side.SELL
        return [Signal(tick.symbol, side, self.quantity, reason=f"chasing a {change * 100:.2f} % move")]


class CorrelationBreaker(BaseStrategy):
    """Symbols (leader, follower), e.g. (BTCUSDT, ETHUSDT): each rise of the leader sells `quantity` of the
    follower, breaking the desk's usual hedge."""

    info = StrategyInfo("correlation_breaker", "1", {"quantity": "0.05"})

    def __init__(self, symbols: Sequence[str] = ("BTCUSDT", "ETHUSDT"), **parameters: Any) -> None:
        super().__init__(symbols, **parameters)
        if len(self._symbols) != 2:
            raise ValueError("correlation_breaker needs two symbols: the leader, then the one it shorts")
        self.quantity = _decimal(parameters, "quantity", "0.05")
        self.last: Decimal | None = None

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        leader, follower = self._symbols
        if tick.symbol != leader:
            return ()
        rose = self.last is not None and tick.mid > self.last
        self.last = tick.mid
        return [Signal(follower, Side.SELL, self.quantity, reason=f"{leader} rose")] if rose else ()


class SlowLeak(BaseStrategy):
    """Flips between long and flat each tick; after n trades a callback fails with probability n × `leak`."""

    info = StrategyInfo("slow_leak", "1", {"quantity": "0.002", "leak": "0.05", "seed": 7})

    def __init__(self, symbols: Sequence[str] = (), **parameters: Any) -> None:
        super().__init__(symbols, **parameters)
        self.quantity = _decimal(parameters, "quantity", "0.002")
        self.leak = float(_decimal(parameters, "leak", "0.05"))  # a probability, not money
        self.random = random.Random(int(parameters.get("seed", 7)))  # noqa: S311 - chaos, not security
        self.trades = 0

    @property
    def error_rate(self) -> float:
        return min(1.0, self.trades * self.leak)

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        if self.random.random() < self.error_rate:
            raise RuntimeError(f"slow leak: failure after {self.trades} trades (error rate {self.error_rate:.0%})")
        held = ctx.positions.get(tick.symbol, D(0))
        if held > 0:
            return [Signal(tick.symbol, Side.SELL, held, reduce_only=True, reason="leak: out")]
        return [Signal(tick.symbol, Side.BUY, self.quantity, reason="leak: in")]

    def on_fill(self, ctx: StrategyContext, fill: StrategyFill) -> Signals:
        self.trades += 1
        return ()


STRATEGIES = (Runaway, RiskIgnorant, VolatilityAmplifier, CorrelationBreaker, SlowLeak)
