"""The prediction-market lag strategy (`predmarket`): trades the exchange leg on the lag detector's signal.

Each exchange price (a tick, sampled once per `sample_ms`, or a closed bar) goes to the window venue and to the
momentum; when the detector finds the window market's UP price off the exchange-implied probability by at least
`edge_threshold` (0.5 points), the strategy enters the exchange in the signal's direction (UP: buy) and holds to
the window's end, one trade per window.

Why the exchange leg and not the window contracts: the exchange is the only venue behind the OrderManager, the
risk engine and the sub-account books, and the only one reachable live (there is no prediction-market access
here), so it is the leg that can run as a live strategy with the same code as its backtest. The contract the
detector prices is still bought on the window venue as a shadow bet (stake `shadow_stake`, no money moves) and
settled at the window's end, so a backtest reports the detector's own edge (`shadow_pnl`) beside the exchange PnL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from algos.strategies.base import (
    Bar,
    BaseStrategy,
    RiskBreach,
    Signal,
    Signals,
    StrategyContext,
    StrategyFill,
    StrategyInfo,
    Tick,
)
from algos.strategies.predmarket.detector import EDGE_THRESHOLD, LagSignal, Momentum, lag_signal
from algos.strategies.predmarket.venue import SimulatedWindowVenue, WindowBet, WindowMarket
from trading.domain.types import Side

ZERO = Decimal(0)
DEFAULTS: dict[str, Any] = {
    "quantity": "0.002", "edge_threshold": str(EDGE_THRESHOLD), "window_s": 900, "lag_s": 30, "lookback_s": 60,
    "volatility_pct_per_minute": "0.05", "noise": "0", "sample_ms": 1000, "shadow_stake": "10", "venue": "simulated",
    "timeframe": "1m", "seed": 0}


def _simulated(symbol: str, settings: Mapping[str, Any]) -> SimulatedWindowVenue:
    return SimulatedWindowVenue(symbol=symbol, window_ms=settings["window_s"] * 1000, lag_ms=settings["lag_s"] * 1000,
                                volatility_per_sqrt_ms=settings["volatility"], noise=settings["noise"],
                                seed=settings["seed"])


# A real prediction-market client registers a factory here under its name (it implements WindowVenue).
WINDOW_VENUES: dict[str, Callable[[str, Mapping[str, Any]], Any]] = {"simulated": _simulated}


def _number(parameters: Mapping[str, Any], name: str, cast: Callable[[str], Any], *, low: float,
            high: float | None = None) -> Any:
    raw = parameters.get(name, DEFAULTS[name])
    try:
        value = cast(str(raw))
    except (ValueError, InvalidOperation):
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"within {low}..{high}"
        raise ValueError(f"{name} must be {bound}, got {raw!r}")
    return value


class PredictionMarketLag(BaseStrategy):
    info = StrategyInfo("predmarket", "1", DEFAULTS)

    def __init__(self, symbols: Sequence[str] = ("BTCUSDT",), **parameters: Any) -> None:
        super().__init__(tuple(symbol.upper() for symbol in symbols), **parameters)
        unknown = sorted(set(parameters) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown predmarket parameters {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
        if len(self._symbols) != 1:
            raise ValueError(f"predmarket trades one symbol (its window market's), got {len(self._symbols)}")
        self.symbol = self._symbols[0]
        self.quantity = _number(parameters, "quantity", Decimal, low=0)
        if self.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {parameters.get('quantity')!r}")
        self.threshold = _number(parameters, "edge_threshold", float, low=0.0001, high=0.5)
        settings = {"window_s": _number(parameters, "window_s", int, low=10),
                    "lag_s": _number(parameters, "lag_s", int, low=0),
                    "noise": _number(parameters, "noise", float, low=0, high=0.2),
                    "seed": _number(parameters, "seed", int, low=0)}
        volatility_pct = _number(parameters, "volatility_pct_per_minute", float, low=0.0001, high=10)
        self.volatility = volatility_pct / 100 / math.sqrt(60_000)
        settings["volatility"] = self.volatility
        self.sample_ms = _number(parameters, "sample_ms", int, low=0)
        self.shadow_stake = _number(parameters, "shadow_stake", Decimal, low=0)
        self.timeframe = str(parameters.get("timeframe", DEFAULTS["timeframe"]))
        venue_name = str(parameters.get("venue", DEFAULTS["venue"]))
        factory = WINDOW_VENUES.get(venue_name)
        if factory is None:
            raise ValueError(f"unknown window venue {venue_name!r}; known: {', '.join(sorted(WINDOW_VENUES))}")
        self.venue = factory(self.symbol, settings)
        self.momentum = Momentum(_number(parameters, "lookback_s", int, low=1) * 1000)
        self._last_sample_ms: int | None = None
        self.trade_window: WindowMarket | None = None  # the window of the open trade
        self.traded_windows: set[str] = set()
        self.shadow_bets: list[tuple[WindowBet, WindowMarket]] = []
        self.shadow_pnl = ZERO
        self.signals_seen = 0
        self.last_signal: LagSignal | None = None

    def timeframes(self) -> tuple[str, ...]:
        return (self.timeframe,) if self.timeframe else ()

    # -- prices -------------------------------------------------------------------------------------
    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        if tick.symbol != self.symbol:
            return ()
        if self._last_sample_ms is not None and tick.ts_ms - self._last_sample_ms < self.sample_ms:
            return self._exit_due(ctx, tick.ts_ms)
        return self._price(ctx, tick.mid, tick.ts_ms)

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> Signals:
        if bar.symbol != self.symbol:
            return ()
        return self._price(ctx, bar.close, bar.close_time_ms + 1)

    def _price(self, ctx: StrategyContext, price: Decimal, ts_ms: int) -> Signals:
        if self._last_sample_ms is not None and ts_ms < self._last_sample_ms:
            return ()  # an older price (a bar closing after a later tick): the venue only moves forward
        self._last_sample_ms = ts_ms
        self.venue.observe(price, ts_ms)
        self.momentum.add(price, ts_ms)
        self._settle_shadows(price, ts_ms)
        exits = self._exit_due(ctx, ts_ms)
        if exits or self.trade_window is not None or ctx.positions.get(self.symbol):
            return exits
        return self._entry(ctx, price, ts_ms)

    def _entry(self, ctx: StrategyContext, price: Decimal, ts_ms: int) -> Signals:
        market = self.venue.market_at(self.symbol, ts_ms)
        if market is None or market.market_id in self.traded_windows:
            return ()
        quote = self.venue.quote(market.market_id, ts_ms)
        if quote is None:
            return ()
        signal = lag_signal(market=market, quote=quote, price=price, momentum=self.momentum, now_ms=ts_ms,
                            volatility_per_sqrt_ms=self.volatility, threshold=self.threshold)
        if signal is None:
            return ()
        self.signals_seen += 1
        self.last_signal = signal
        self.traded_windows.add(market.market_id)
        self.trade_window = market
        if self.shadow_stake > 0:
            self.shadow_bets.append((self.venue.buy(market.market_id, signal.outcome, self.shadow_stake, ts_ms),
                                     market))
        side = Side.BUY if signal.outcome == "up" else Side.SELL
        return (Signal(self.symbol, side, self.quantity, reason=(
            f"predmarket {signal.outcome}: fair {signal.fair:.3f} vs implied {signal.implied:.3f}, edge "
            f"{signal.edge * 100:.2f} pts over {self.threshold * 100:.2f}")),)

    def _exit_due(self, ctx: StrategyContext, ts_ms: int) -> Signals:
        window = self.trade_window
        if window is None or ts_ms < window.end_ms:
            return ()
        self.trade_window = None
        held = ctx.positions.get(self.symbol, ZERO)
        if not held:
            return ()
        side = Side.SELL if held > 0 else Side.BUY
        return (Signal(self.symbol, side, abs(held), reduce_only=True, reason="predmarket: window ended"),)

    def _settle_shadows(self, price: Decimal, ts_ms: int) -> None:
        still_open = []
        for bet, market in self.shadow_bets:
            if ts_ms >= market.end_ms:
                self.shadow_pnl += self.venue.settle(bet, close=price, strike=market.strike)
            else:
                still_open.append((bet, market))
        self.shadow_bets = still_open

    # -- fills and refusals -------------------------------------------------------------------------
    def on_fill(self, ctx: StrategyContext, fill: StrategyFill) -> Signals:
        return ()

    def on_risk_breach(self, ctx: StrategyContext, breach: RiskBreach) -> Signals:
        if breach.state == "denied" and not ctx.positions.get(self.symbol):
            self.trade_window = None  # the entry was refused: nothing to hold to the window's end
        return ()

    # -- memory across a restart --------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        window = self.trade_window
        return {"traded_windows": sorted(self.traded_windows)[-10:], "shadow_pnl": str(self.shadow_pnl),
                "trade_window": None if window is None else [window.market_id, window.start_ms, window.end_ms,
                                                              str(window.strike)]}

    def restore(self, saved: Mapping[str, Any]) -> None:
        self.traded_windows = set(saved.get("traded_windows", []))
        self.shadow_pnl = Decimal(str(saved.get("shadow_pnl", "0")))
        window = saved.get("trade_window")
        if window:
            self.trade_window = WindowMarket(str(window[0]), self.symbol, int(window[1]), int(window[2]),
                                             Decimal(str(window[3])))
