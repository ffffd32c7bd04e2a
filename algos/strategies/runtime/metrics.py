"""Per-run strategy metrics (seed): cycles, signals, trades opened and closed, wins, losses, PnL, drawdown.

A trade is a round trip of one symbol's position: it opens when the position leaves flat and closes when it
returns to flat (a flip closes one and opens the next). Its result is the realized PnL net of fees booked
while it was open. Balance = starting equity + realized PnL net of fees; peak and drawdown follow it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from trading.domain.positions import Fill, Position, PositionChangeKind, apply_fill

ZERO = Decimal(0)


@dataclass
class StrategyMetrics:
    starting_equity: Decimal = ZERO
    cycles: int = 0
    signals: int = 0
    orders: int = 0
    refused: int = 0
    dropped: int = 0
    trades_opened: int = 0
    trades_closed: int = 0
    wins: int = 0
    losses: int = 0
    pnl: Decimal = ZERO  # realized, net of fees
    fees: Decimal = ZERO
    peak_balance: Decimal = ZERO
    max_drawdown: Decimal = ZERO  # quote asset, from the peak balance
    positions: dict[str, Position] = field(default_factory=dict)
    trade_pnl: dict[str, Decimal] = field(default_factory=dict)  # open trade's realized so far, per symbol
    # entry_prices() between fills: every callback's context reads it, only a fill changes it
    _entries: dict[str, Decimal] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.peak_balance = max(self.peak_balance, self.starting_equity)

    @property
    def balance(self) -> Decimal:
        return self.starting_equity + self.pnl

    @property
    def max_drawdown_pct(self) -> Decimal:
        return ZERO if self.peak_balance <= 0 else self.max_drawdown / self.peak_balance * 100

    def on_fill(self, fill: Fill) -> PositionChangeKind:
        position = self.positions.get(fill.symbol) or Position(fill.symbol)
        position, change = apply_fill(position, fill)
        self.positions[fill.symbol] = position
        self._entries = None
        net = change.realized_pnl - change.fee
        self.pnl += net
        self.fees += change.fee
        running = self.trade_pnl.get(fill.symbol, ZERO) + net
        if change.kind in (PositionChangeKind.CLOSED, PositionChangeKind.FLIPPED):
            self.trades_closed += 1
            if running > 0:
                self.wins += 1
            else:
                self.losses += 1
            running = ZERO
        if change.kind in (PositionChangeKind.OPENED, PositionChangeKind.FLIPPED):
            self.trades_opened += 1
        self.trade_pnl[fill.symbol] = running
        self.peak_balance = max(self.peak_balance, self.balance)
        self.max_drawdown = max(self.max_drawdown, self.peak_balance - self.balance)
        return change.kind

    def unrealized(self, marks: dict[str, Decimal]) -> Decimal:
        total = ZERO
        for symbol, position in self.positions.items():
            if position.quantity and symbol in marks:
                total += position.unrealized_pnl(marks[symbol])
        return total

    def equity(self, marks: dict[str, Decimal]) -> Decimal:
        """balance + unrealized(marks), in one call (every callback's context needs it)."""
        balance = self.starting_equity + self.pnl
        total = ZERO
        for symbol, position in self.positions.items():
            if position.quantity and symbol in marks:
                total += position.unrealized_pnl(marks[symbol])
        return balance + total

    def entry_prices(self) -> dict[str, Decimal]:
        """Average entry per symbol held so far (a new dict after each fill: a context handed out keeps its own)."""
        entries = self._entries
        if entries is None:
            entries = self._entries = {symbol: p.average_entry for symbol, p in self.positions.items()}
        return entries

    def as_dict(self) -> dict[str, Any]:
        return {"cycles": self.cycles, "signals": self.signals, "orders": self.orders, "refused": self.refused,
                "dropped": self.dropped, "trades_opened": self.trades_opened, "trades_closed": self.trades_closed,
                "wins": self.wins, "losses": self.losses, "pnl": str(self.pnl), "fees": str(self.fees),
                "balance": str(self.balance), "peak_balance": str(self.peak_balance),
                "max_drawdown": str(self.max_drawdown), "max_drawdown_pct": str(self.max_drawdown_pct),
                "starting_equity": str(self.starting_equity),
                "positions": {s: [str(p.quantity), str(p.average_entry), str(p.realized_pnl), str(p.fees)]
                              for s, p in self.positions.items()},
                "trade_pnl": {s: str(v) for s, v in self.trade_pnl.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StrategyMetrics:
        metrics = cls(starting_equity=Decimal(str(data.get("starting_equity", "0"))))
        for name in ("cycles", "signals", "orders", "refused", "dropped", "trades_opened", "trades_closed", "wins",
                     "losses"):
            setattr(metrics, name, int(data.get(name, 0)))
        for name in ("pnl", "fees", "peak_balance", "max_drawdown"):
            setattr(metrics, name, Decimal(str(data.get(name, "0"))))
        metrics.positions = {s: Position(s, Decimal(q), Decimal(e), Decimal(r), Decimal(f))
                             for s, (q, e, r, f) in data.get("positions", {}).items()}
        metrics.trade_pnl = {s: Decimal(v) for s, v in data.get("trade_pnl", {}).items()}
        return metrics
