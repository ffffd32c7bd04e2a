"""The engine's knobs: symbols, brackets, fees, rate limits and id seeds, with Binance-like defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from simexchange.core.brackets import DEFAULT_BRACKETS, Bracket
from simexchange.core.symbols import DEFAULT_SYMBOLS, SymbolSpec


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Binance's published limits (sources disagree: 2400 or 6000 weight/min; orders 300/10 s and 1200/min)."""

    request_weight_per_minute: int = 2400
    orders_per_10s: int = 300
    orders_per_minute: int = 1200
    # After a 429, this many further requests inside the same window earn an IP ban (HTTP 418).
    ban_after_violations: int = 5
    ban_seconds: int = 120


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything that shapes the simulated venue; defaults mimic Binance USD-M for three perpetuals."""

    symbols: tuple[SymbolSpec, ...] = DEFAULT_SYMBOLS
    brackets: dict[str, tuple[Bracket, ...]] = field(default_factory=lambda: dict(DEFAULT_BRACKETS))
    maker_fee_rate: Decimal = Decimal("0.0002")
    taker_fee_rate: Decimal = Decimal("0.0005")
    fee_asset: str = "USDT"
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    first_order_id: int = 1_000_000
    first_trade_id: int = 1
    max_modifies_per_order: int = 10_000
    max_batch_orders: int = 5
    max_batch_cancels: int = 10
    max_queued_events: int = 100_000
    # Closed orders and trades each account keeps for queries (allOrders, userTrades, query by id); None keeps
    # all, as a live venue's history does. A backtest of millions of orders keeps only the recent ones.
    history_kept: int | None = None

    def spec(self, symbol: str) -> SymbolSpec | None:
        """The configured symbol, or None."""
        for spec in self.symbols:
            if spec.symbol == symbol:
                return spec
        return None
