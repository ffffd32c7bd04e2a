"""The learning step: each closed trade's features and outcome; every 50 trades, bounded parameter proposals.

Proposals are logged and kept; they change the strategy only when learning is enabled. Each proposal moves one
parameter by one fixed step and stays within its bounds, so a run of bad luck cannot walk a parameter away.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

logger = logging.getLogger(__name__)
D = Decimal
ZERO = D(0)


@dataclass(frozen=True, slots=True)
class TradeRecord:
    symbol: str
    direction: int
    entry_ms: int
    exit_ms: int
    entry_price: Decimal
    quantity: Decimal
    pnl: Decimal  # after fees, USDT
    confidence: float
    regime: str
    session: str
    volatility: str
    voters: tuple[str, ...]
    exit_reason: str  # the last exit's reason: stop, trailing_stop, tp3, end, ...

    @property
    def won(self) -> bool:
        return self.pnl > 0


@dataclass(frozen=True, slots=True)
class Bound:
    low: Decimal
    high: Decimal
    step: Decimal


BOUNDS = {
    "min_confidence": Bound(D("0.60"), D("0.80"), D("0.02")),
    "stop_atr_multiple": Bound(D("1.0"), D("2.5"), D("0.1")),
    "trail_distance_pct": Bound(D("0.10"), D("0.30"), D("0.025")),
}


@dataclass(frozen=True, slots=True)
class Adjustment:
    parameter: str
    current: Decimal
    proposed: Decimal
    reason: str
    after_trades: int


@dataclass
class Learner:
    every: int = 50
    enabled: bool = False
    records: list[TradeRecord] = field(default_factory=list)
    proposals: list[Adjustment] = field(default_factory=list)
    applied: list[Adjustment] = field(default_factory=list)

    def record(self, trade: TradeRecord, current: Mapping[str, Decimal]) -> list[Adjustment]:
        """Keep the trade; at every `every`-th, propose adjustments from the last `every` trades (returned,
        and applied by the caller only when `enabled`)."""
        self.records.append(trade)
        if len(self.records) % self.every:
            return []
        proposals = propose(self.records[-self.every:], current, after_trades=len(self.records))
        for adjustment in proposals:
            logger.info("ensemble learning after %d trades: %s %s -> %s (%s)%s", adjustment.after_trades,
                        adjustment.parameter, adjustment.current, adjustment.proposed, adjustment.reason,
                        "" if self.enabled else " [proposal only: learning is not enabled]")
        self.proposals.extend(proposals)
        if self.enabled:
            self.applied.extend(proposals)
        return proposals


def _move(name: str, current: Mapping[str, Decimal], direction: int, reason: str, after: int) -> Adjustment | None:
    bound = BOUNDS[name]
    value = current[name]
    proposed = min(bound.high, max(bound.low, value + direction * bound.step))
    return None if proposed == value else Adjustment(name, value, proposed, reason, after)


def propose(trades: list[TradeRecord], current: Mapping[str, Decimal], *, after_trades: int) -> list[Adjustment]:
    if not trades:
        return []
    wins = [t.pnl for t in trades if t.won]
    losses = [-t.pnl for t in trades if not t.won]
    win_rate = D(len(wins)) / len(trades)
    average_win = sum(wins, ZERO) / len(wins) if wins else ZERO
    average_loss = sum(losses, ZERO) / len(losses) if losses else ZERO
    stopped = D(sum(1 for t in trades if t.exit_reason == "stop")) / len(trades)
    trailed = [t.pnl for t in trades if t.exit_reason == "trailing_stop"]
    found: list[Adjustment | None] = []
    if win_rate < D("0.40"):
        found.append(_move("min_confidence", current, 1, f"win rate {win_rate:.0%} below 40 %", after_trades))
    elif win_rate > D("0.60"):
        found.append(_move("min_confidence", current, -1, f"win rate {win_rate:.0%} above 60 %", after_trades))
    if stopped > D("0.5"):
        found.append(_move("stop_atr_multiple", current, 1, f"{stopped:.0%} of trades stopped out", after_trades))
    elif stopped < D("0.2") and average_win > 0 and average_loss > average_win * D("1.5"):
        found.append(_move("stop_atr_multiple", current, -1,
                           f"average loss {average_loss:.2f} is over 1.5x the average win {average_win:.2f}",
                           after_trades))
    if len(trailed) >= 5 and sum(trailed, ZERO) < 0:
        found.append(_move("trail_distance_pct", current, 1, "trailing-stop exits lose on balance", after_trades))
    return [adjustment for adjustment in found if adjustment is not None]
