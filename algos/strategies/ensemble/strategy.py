"""The ensemble strategy: on each closed 15m bar (primary) and 5m bar (secondary) the five sub-strategies vote
with regime-adapted weights; the combined signal, if confident enough and allowed by the limits and the asset
priority, becomes a sized market entry; ticks (and bar closes) walk each open trade's exit plan."""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
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
from algos.strategies.ensemble.combine import (
    NONE,
    SECONDARY_ALONE,
    Combined,
    TimeframeSignal,
    Vote,
    timeframes_combine,
    votes_combine,
)
from algos.strategies.ensemble.exits import ExitParams, ExitPlan, exit_plan
from algos.strategies.ensemble.learning import Learner, TradeRecord
from algos.strategies.ensemble.limits import EntryGuard
from algos.strategies.ensemble.params import ParameterError, params_from
from algos.strategies.ensemble.sizing import position_size
from algos.strategies.ensemble.substrategies import AdaptiveWeights, votes_at
from algos.strategies.ensemble.vectorised import SeriesVotes, series_votes
from algos.strategies.indicators.buffer import BarBuffer
from algos.strategies.indicators.regime import Regime, regime_of, volatility_level
from algos.strategies.indicators.session import session_at
from algos.strategies.indicators.ta import IndicatorParams, IndicatorSeries, IndicatorSnapshot, indicators_compute
from trading.domain.types import Side

logger = logging.getLogger(__name__)
D = Decimal
ZERO = D(0)
VERSION = "1.0"
PRIMARY, SECONDARY = "15m", "5m"
PRIMARY_MS = 15 * 60_000
LOG_LIMIT = 500


@dataclass
class _Precomputed:
    series: IndicatorSeries
    index: dict[int, int]  # bar open time -> position in the series
    votes: SeriesVotes  # the sub-strategies' votes (those with a direction) and the regime at every bar


SnapshotOf = Callable[[], IndicatorSnapshot]  # a bar's indicators, built only when a decision needs them


@dataclass(frozen=True, slots=True)
class _Pending:
    """A preloaded bar's votes with the weights of its time: combined only if a later bar reads it (a 5m signal
    that cannot act now is kept for the 15m bar, and the next 5m bar usually replaces it first)."""

    votes: tuple[Vote, ...]
    weights: dict[str, float]
    total: float

    def signal(self) -> TimeframeSignal:
        return votes_combine(self.votes, self.weights, self.total)


def _combined(signal: TimeframeSignal | _Pending) -> TimeframeSignal:
    return signal.signal() if isinstance(signal, _Pending) else signal


@dataclass
class _Trade:
    """One trade of one symbol from its entry signal to flat."""

    symbol: str
    direction: int
    signal_ms: int
    atr: Decimal
    confidence: float
    regime: str
    session: str
    volatility: str
    voters: tuple[str, ...]
    filled: Decimal = ZERO
    entry_cost: Decimal = ZERO
    exited: Decimal = ZERO
    exit_value: Decimal = ZERO
    fees: Decimal = ZERO
    entry_ms: int = 0
    plan: ExitPlan | None = None
    exit_reasons: list[str] = field(default_factory=list)

    @property
    def average_entry(self) -> Decimal:
        return self.entry_cost / self.filled if self.filled else ZERO

    @property
    def pnl(self) -> Decimal:
        return self.direction * (self.exit_value - self.exited * self.average_entry) - self.fees


class EnsembleStrategy(BaseStrategy):
    info = StrategyInfo("ensemble", VERSION, {"seed": 0})

    def __init__(self, symbols: Sequence[str] = ("BTCUSDT", "SOLUSDT"), **parameters: Any) -> None:
        super().__init__(tuple(symbol.upper() for symbol in symbols), **parameters)
        if not self._symbols:
            raise ParameterError("the ensemble needs at least one symbol")
        self.params = params_from(parameters)
        self.info = StrategyInfo("ensemble", VERSION, {key: str(value) for key, value in parameters.items()})
        self.indicator_params = IndicatorParams()
        self.weights = AdaptiveWeights(rate=self.params.weight_rate)
        self.guard = EntryGuard(self.params.limits)
        self.learner = Learner(every=self.params.learning_every, enabled=self.params.learning_enabled)
        self.tunable: dict[str, Decimal] = {
            "min_confidence": self.params.min_confidence,
            "stop_atr_multiple": self.params.exits.stop_atr_multiple,
            "trail_distance_pct": self.params.exits.trail_distance_pct}
        self._pre: dict[tuple[str, str], _Precomputed] = {}
        self._buffers: dict[tuple[str, str], BarBuffer] = {}
        self._previous: dict[tuple[str, str], IndicatorSnapshot] = {}
        self._primary: dict[str, tuple[TimeframeSignal, SnapshotOf]] = {}
        # each regime's weights and their sum (in NAMES order, the votes' order); cleared whenever the weights learn
        self._weights_by_regime: dict[Regime, tuple[dict[str, float], float]] = {}
        self._secondary: dict[str, TimeframeSignal | _Pending] = {}
        self._trades: dict[str, _Trade] = {}
        self.closed: list[TradeRecord] = []
        self.halted_reason: str | None = None
        self.counters: Counter[str] = Counter()
        self.log: deque[str] = deque(maxlen=LOG_LIMIT)

    def timeframes(self) -> tuple[str, ...]:
        return (PRIMARY, SECONDARY)

    # -- indicators ---------------------------------------------------------------------------------
    def preload(self, symbol: str, timeframe: str, bars: Sequence[Bar]) -> None:
        """Backtests: every indicator, every sub-strategy's vote and the regime of a whole bar series in one
        vectorised pass; on_bar then only weighs the votes of its bar."""
        series = indicators_compute(high=[float(b.high) for b in bars], low=[float(b.low) for b in bars],
                                    close=[float(b.close) for b in bars], volume=[float(b.volume) for b in bars],
                                    params=self.indicator_params)
        self._pre[(symbol, timeframe)] = _Precomputed(series, {b.open_time_ms: i for i, b in enumerate(bars)},
                                                      series_votes(series))

    def _weights_for(self, regime: Regime) -> tuple[dict[str, float], float]:
        found = self._weights_by_regime.get(regime)
        if found is None:
            weights = self.weights.for_regime(regime)
            total = 0.0
            for weight in weights.values():
                total += weight
            found = self._weights_by_regime[regime] = (weights, total)
        return found

    def _signal(self, bar: Bar, *, pending: bool = False) -> tuple[TimeframeSignal | _Pending, SnapshotOf] | None:
        """This bar's weighted vote and its indicators; None while warming up. `pending`: a preloaded bar's vote may
        come back uncombined."""
        pre = self._pre.get((bar.symbol, bar.timeframe))
        if pre is not None:
            index = pre.index.get(bar.open_time_ms)
            if index is not None:
                if index <= pre.series.first_ready:
                    return None
                votes = pre.votes.votes[index]
                signal: TimeframeSignal | _Pending
                if votes is None:
                    signal = NONE
                else:  # only the sub-strategies that voted: the sum of every weight comes with the weights
                    weights, total = self._weights_for(pre.votes.regimes[index])
                    signal = _Pending(votes, weights, total) if pending else votes_combine(votes, weights, total)
                series = pre.series
                return signal, lambda: series.at(index)
        now, before = self._snapshots(bar)
        if now is None or before is None:
            return None
        return votes_combine(votes_at(now, before, checked=True), self._weights_for(regime_of(now))[0]), lambda: now

    def _snapshots(self, bar: Bar) -> tuple[IndicatorSnapshot | None, IndicatorSnapshot | None]:
        """(this bar's indicators, the previous bar's) from the bars so far (live); None while warming up."""
        key = (bar.symbol, bar.timeframe)
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = BarBuffer(self.indicator_params)
        buffer.append(bar)
        now = buffer.latest()
        before = self._previous.get(key)
        if now is None or not now.ready:
            return None, None
        self._previous[key] = now
        return (now, before) if before is not None and before.ready else (None, None)

    # -- bars ---------------------------------------------------------------------------------------
    def on_bar(self, ctx: StrategyContext, bar: Bar) -> Signals:
        symbol, timeframe = bar.symbol, bar.timeframe
        if symbol not in self._symbols or (timeframe != PRIMARY and timeframe != SECONDARY):
            return ()
        self.counters["bars"] += 1
        self.guard.record_equity(ctx.now_ms, ctx.equity)
        signals = self._reconcile(ctx, symbol, bar.close) if symbol in self._trades else ()
        if timeframe == SECONDARY:
            return self._secondary_bar(ctx, bar, signals)
        found = self._signal(bar)
        if found is None:
            return signals
        signal, now = _combined(found[0]), found[1]
        self._primary[symbol] = (signal, now)
        combined = timeframes_combine(signal, _combined(self._secondary.get(symbol, NONE)))
        return self._and(signals, self._decide(ctx, bar, combined, now))

    def _secondary_bar(self, ctx: StrategyContext, bar: Bar, signals: Signals) -> Signals:
        """A 5m bar: its signal waits for the 15m bar closing with it, or acts alone while the 15m says nothing."""
        symbol = bar.symbol
        primary = self._primary.get(symbol)
        closing = bar.close_time_ms % PRIMARY_MS == PRIMARY_MS - 1  # the 15m bar closing now decides with it
        waits = closing or primary is None or bool(primary[0].direction)
        found = self._signal(bar, pending=waits)
        if found is None:
            return signals
        self._secondary[symbol] = found[0]
        if waits or primary is None:
            return signals
        signal = _combined(found[0])
        if signal.confidence <= SECONDARY_ALONE:
            return signals  # only a strong 5m signal may act alone (timeframes_combine's rule)
        return self._and(signals, self._decide(ctx, bar, timeframes_combine(NONE, signal), primary[1]))

    @staticmethod
    def _and(first: Signals, then: Signals) -> Signals:
        return [*first, *then] if first and then else (first or then)

    def _decide(self, ctx: StrategyContext, bar: Bar, combined: Combined, primary_of: SnapshotOf) -> Signals:
        if not combined.direction:
            return ()
        symbol = bar.symbol
        confidence = D(str(round(combined.confidence, 4)))
        refusal = self._entry_refusal(ctx, symbol, confidence)
        if refusal is not None:
            return self._skip(ctx, symbol, refusal)
        rules = ctx.instruments.get(symbol)
        if rules is None:
            return self._skip(ctx, symbol, "no instrument rules")
        primary = primary_of()  # the bar's indicators, built only for an entry that may go out
        volatility = volatility_level(primary.atr_ratio)
        session = session_at(bar.close_time_ms)
        size = position_size(equity=ctx.equity, price=bar.close, confidence=confidence, volatility=volatility,
                             session=session, rules=rules, leverage=self.params.leverage,
                             base_fraction=self.params.base_fraction, min_confidence=self.tunable["min_confidence"])
        if size.quantity <= 0:
            return self._skip(ctx, symbol, size.reason)
        self._trades[symbol] = _Trade(symbol, combined.direction, ctx.now_ms, D(str(round(primary.atr, 8))),
                                      combined.confidence, regime_of(primary).value, session.value,
                                      volatility.value, combined.voters)
        self.guard.note_entry(ctx.now_ms)
        self.counters["entries"] += 1
        side = Side.BUY if combined.direction > 0 else Side.SELL
        reason = (f"ensemble {side.value} {confidence:.0%}: {combined.reason} ({', '.join(combined.voters)}); "
                  f"{volatility.value} volatility, {session.value}")
        return (Signal(symbol, side, size.quantity, reason=reason),)

    def _entry_refusal(self, ctx: StrategyContext, symbol: str, confidence: Decimal) -> str | None:
        if self.halted_reason is not None:
            return f"risk: {self.halted_reason}"
        if confidence < self.tunable["min_confidence"]:
            return f"confidence {confidence:.0%} below {self.tunable['min_confidence']:.0%}"
        open_symbols = {s for s, q in ctx.positions.items() if q} | set(self._trades)
        refusal = self.guard.refusal(now_ms=ctx.now_ms, symbol=symbol, equity=ctx.equity, open_symbols=open_symbols)
        if refusal is not None:
            return refusal
        primary = self.params.primary_symbol
        if symbol != primary and primary in open_symbols and confidence < self.params.other_symbol_confidence:
            return (f"{primary} is in a trade: {symbol} needs {self.params.other_symbol_confidence:.0%} "
                    f"confidence, has {confidence:.0%}")
        return None

    def _skip(self, ctx: StrategyContext, symbol: str, reason: str) -> Signals:
        self.counters["skipped"] += 1
        self.log.append(f"{ctx.now_ms} {symbol} skipped: {reason}")
        return ()

    # -- exits --------------------------------------------------------------------------------------
    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        trade = self._trades.get(tick.symbol)
        if trade is None or trade.plan is None:
            return ()
        return self._exits(trade, trade.plan.on_price(tick.mid))

    def quiet_band(self, symbol: str) -> tuple[Decimal, Decimal] | None:
        """Prices strictly inside this band would make on_tick do nothing (None: every tick matters). Backtests
        use it to skip walking a bar through ticks when the whole bar stays inside it."""
        trade = self._trades.get(symbol)
        if trade is None or trade.plan is None:
            return None
        return trade.plan.quiet_band()

    def _exits(self, trade: _Trade, orders: Sequence[Any]) -> Signals:
        if not orders:
            return ()
        side = Side.SELL if trade.direction > 0 else Side.BUY
        trade.exit_reasons.extend(order.reason for order in orders)
        self.counters["exit_orders"] += len(orders)
        return tuple(Signal(trade.symbol, side, order.quantity, reduce_only=True, reason=f"ensemble {order.reason}")
                     for order in orders)

    def _reconcile(self, ctx: StrategyContext, symbol: str, close: Decimal) -> Signals:
        """The sub-account's position is the truth: an entry that never filled is forgotten, an exit that was
        refused is retried by the plan, a position closed elsewhere ends the trade."""
        trade = self._trades.get(symbol)
        if trade is None:
            return ()
        held = abs(ctx.positions.get(symbol, ZERO))
        if trade.filled == 0:
            if ctx.now_ms > trade.signal_ms:
                del self._trades[symbol]
                self.log.append(f"{ctx.now_ms} {symbol} entry never filled: forgotten")
            return ()
        if held == 0:
            self._close(ctx.now_ms, trade, "closed outside the plan")
            return ()
        plan = trade.plan
        if plan is not None and held > plan.remaining:
            plan.remaining, plan.done = held, False  # an exit order did not go through
        return self._exits(trade, plan.on_price(close)) if plan is not None else ()

    # -- fills and breaches -------------------------------------------------------------------------
    def on_fill(self, ctx: StrategyContext, fill: StrategyFill) -> Signals:
        trade = self._trades.get(fill.symbol)
        if trade is None:
            return ()
        direction = 1 if fill.side is Side.BUY else -1
        trade.fees += fill.fee
        if direction == trade.direction and trade.exited == 0:
            trade.filled += fill.quantity
            trade.entry_cost += fill.quantity * fill.price
            trade.entry_ms = trade.entry_ms or fill.ts_ms
            rules = ctx.instruments.get(fill.symbol)
            if rules is not None:
                exits = self._exit_params()
                trade.plan = exit_plan(direction=direction, entry=trade.average_entry, quantity=trade.filled,
                                       atr=trade.atr, params=exits, tick=rules.tick_size, step=rules.step_size,
                                       min_qty=rules.min_qty)
            return ()
        trade.exited += fill.quantity
        trade.exit_value += fill.quantity * fill.price
        if trade.exited >= trade.filled:
            self._close(fill.ts_ms, trade, "")
        return ()

    def _exit_params(self) -> ExitParams:
        base = self.params.exits
        return ExitParams(base.stop_mode, self.tunable["stop_atr_multiple"], base.stop_fixed_pct,
                          base.take_profit_atr, base.take_profit_fractions, base.trail_activation_pct,
                          self.tunable["trail_distance_pct"])

    def _close(self, now_ms: int, trade: _Trade, note: str) -> None:
        del self._trades[trade.symbol]
        reason = trade.exit_reasons[-1] if trade.exit_reasons else (note or "unknown")
        record = TradeRecord(trade.symbol, trade.direction, trade.entry_ms, now_ms, trade.average_entry,
                             trade.filled, trade.pnl, trade.confidence, trade.regime, trade.session,
                             trade.volatility, trade.voters, reason)
        self.closed.append(record)
        self.counters["wins" if record.won else "losses"] += 1
        self.weights.learn(trade.voters, record.won)
        self._weights_by_regime.clear()
        for adjustment in self.learner.record(record, self.tunable):
            if self.learner.enabled:
                self.tunable[adjustment.parameter] = adjustment.proposed

    def on_risk_breach(self, ctx: StrategyContext, breach: RiskBreach) -> Signals:
        if breach.state == "denied":
            for symbol, trade in list(self._trades.items()):
                if trade.filled == 0 and breach.symbol in ("", symbol):
                    del self._trades[symbol]  # the refused order was this entry (any symbol's, when not said)
            self.log.append(f"{breach.ts_ms} order refused: {breach.reason}")
        elif breach.state in ("REDUCING", "HALTED"):
            self.halted_reason = f"{breach.scope} {breach.state}: {breach.reason}"
        elif breach.state == "ACTIVE":
            self.halted_reason = None
        return ()

    # -- memory across a restart ------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        from algos.strategies.ensemble.memory import ensemble_snapshot

        return ensemble_snapshot(self)

    def restore(self, saved: dict[str, Any]) -> None:
        from algos.strategies.ensemble.memory import ensemble_restore

        ensemble_restore(self, saved)
        self._weights_by_regime.clear()

    @property
    def regimes(self) -> dict[str, Regime]:
        return {symbol: regime_of(snapshot_of()) for symbol, (_, snapshot_of) in self._primary.items()}
