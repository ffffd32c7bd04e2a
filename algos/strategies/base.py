"""The strategy interface: callbacks in, signals out. Pure Python, the same in live trading and backtests.

A strategy never talks to the exchange or the OrderManager. It is handed what it needs to decide (a context
with the time, its equity and positions, and the instrument rules) and returns signals; the strategy runner
turns each signal into an order through the OrderManager, where the pre-trade risk check applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from trading.domain.instruments import InstrumentRules
from trading.domain.types import Side

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class StrategyInfo:
    name: str  # registry key, e.g. "ensemble"
    version: str
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Tick:
    """An L1 quote."""

    symbol: str
    bid: Decimal
    ask: Decimal
    ts_ms: int

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True)
class Bar:
    """A closed candle of `timeframe` ("1m", "5m", "15m", "1h", ...)."""

    symbol: str
    timeframe: str
    open_time_ms: int
    close_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class TradePrint:
    """A public trade (aggTrade), for order-flow measures."""

    symbol: str
    price: Decimal
    quantity: Decimal
    buyer_is_maker: bool
    ts_ms: int


@dataclass(frozen=True, slots=True)
class StrategyFill:
    """One of the strategy's own fills."""

    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    ts_ms: int
    client_order_id: str = ""


@dataclass(frozen=True, slots=True)
class RiskBreach:
    """The risk engine refused an order or changed the trading state of a scope the strategy is in."""

    scope: str
    state: str  # ACTIVE, REDUCING, HALTED or "denied" for a refused order
    reason: str
    ts_ms: int
    code: str = ""  # a refused order's code from the OrderManager (e.g. "order_rate", "position_notional")
    symbol: str = ""  # a refused order's symbol ("" for a state change of a scope)
    client_order_id: str = ""  # a refused order's client id when it got one (refused by the exchange)


class SignalKind(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    CANCEL_ALL = "cancel_all"  # cancel the strategy's working orders on `symbol`


@dataclass(frozen=True, slots=True)
class Signal:
    """Trade `quantity` (base asset, > 0) of `symbol` on `side`. The runner rounds the quantity down to the step
    and drops a signal below the minimum order, with a reason in the strategy's log."""

    symbol: str
    side: Side
    quantity: Decimal
    kind: SignalKind = SignalKind.MARKET
    price: Decimal | None = None  # LIMIT only
    reduce_only: bool = False
    reason: str = ""  # why: shown in the dashboard and kept with the order's record


@dataclass(frozen=True, slots=True)
class StrategyContext:
    """What the strategy may read when deciding. `positions` are its sub-account's, signed."""

    now_ms: int
    equity: Decimal
    positions: Mapping[str, Decimal]
    entry_prices: Mapping[str, Decimal]
    instruments: Mapping[str, InstrumentRules]
    working_orders: int = 0


Signals = Sequence[Signal]


@runtime_checkable
class Strategy(Protocol):
    info: StrategyInfo

    def symbols(self) -> tuple[str, ...]: ...

    def timeframes(self) -> tuple[str, ...]:
        """Bar timeframes the strategy wants closed bars of (empty: ticks only)."""
        ...

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals: ...

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> Signals: ...

    def on_trade(self, ctx: StrategyContext, trade: TradePrint) -> Signals: ...

    def on_fill(self, ctx: StrategyContext, fill: StrategyFill) -> Signals: ...

    def on_risk_breach(self, ctx: StrategyContext, breach: RiskBreach) -> Signals: ...


class OptionalHooks(Protocol):
    """Methods a strategy may add; the runtime and the backtest call them only when present (none is required, so
    every strategy written against `Strategy` keeps working).

    - `preload(symbol, timeframe, bars)`: backtests hand over each whole bar series before replaying it, so a
      strategy can compute its indicators (or anything per bar) in one vectorised pass; the bars it is then given
      one by one are the same bars.
    - `quiet_band(symbol) -> (low, high) | None`: prices strictly inside the band would make `on_tick` do nothing
      (e.g. between an open trade's stop and its next target); a kline backtest then skips walking a bar through
      ticks when the whole bar stays inside it. None: every tick matters.
    - `snapshot() -> dict`: the strategy's memory as JSON data (open trades, exits, what it learned); the runner
      saves it with its own state (the algo state store) at most once a second and after each significant change.
    - `restore(saved)`: take back what `snapshot` returned when a run resumes after a restart; raising fails the
      run with the reason (it never trades on half a memory).
    """

    def preload(self, symbol: str, timeframe: str, bars: Sequence[Bar]) -> None: ...

    def quiet_band(self, symbol: str) -> tuple[Decimal, Decimal] | None: ...

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, saved: dict[str, Any]) -> None: ...


class BaseStrategy:
    """Every callback does nothing by default; a strategy overrides what it needs."""

    info = StrategyInfo("base", "0")

    def __init__(self, symbols: Sequence[str] = (), **parameters: Any) -> None:
        self._symbols = tuple(symbols)
        self.parameters = dict(parameters)

    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    def timeframes(self) -> tuple[str, ...]:
        return ()

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        return ()

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> Signals:
        return ()

    def on_trade(self, ctx: StrategyContext, trade: TradePrint) -> Signals:
        return ()

    def on_fill(self, ctx: StrategyContext, fill: StrategyFill) -> Signals:
        return ()

    def on_risk_breach(self, ctx: StrategyContext, breach: RiskBreach) -> Signals:
        return ()
