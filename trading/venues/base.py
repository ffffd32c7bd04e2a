"""The Venue port: what the engine needs from an exchange, in Decimal and typed outcomes.

Write calls never raise for an exchange answer: they return Accepted, Rejected (final) or
Ambiguous (outcome unknown: the order stays in flight until a query proves its state). Reads raise
core.errors.VenueUnavailable when the exchange cannot be asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from core.frozen import quick_init
from core.money import ZERO
from trading.domain.instruments import InstrumentRules
from trading.domain.orders import OrderStatus
from trading.domain.types import OrderType, Side, TimeInForce


@quick_init
@dataclass(frozen=True, slots=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class VenueOrder:
    """The exchange's view of one order."""

    client_order_id: str
    exchange_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    status: OrderStatus
    quantity: Decimal
    filled_quantity: Decimal = ZERO
    average_price: Decimal | None = None
    price: Decimal | None = None
    reduce_only: bool = False
    updated_ms: int = 0


@quick_init
@dataclass(frozen=True, slots=True)
class VenueTrade:
    """One execution of one of the account's orders; trade_key is `SYMBOL:tradeId`, unique per venue."""

    trade_key: str
    symbol: str
    client_order_id: str
    exchange_order_id: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    realized_pnl: Decimal
    time_ms: int


@quick_init
@dataclass(frozen=True, slots=True)
class VenuePosition:
    symbol: str
    quantity: Decimal  # signed, one-way mode
    entry_price: Decimal
    mark_price: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO


@quick_init
@dataclass(frozen=True, slots=True)
class VenueBalance:
    asset: str
    wallet_balance: Decimal
    available_balance: Decimal


@dataclass(frozen=True, slots=True)
class LeverageTier:
    """One row of GET /fapi/v1/leverageBracket: positions with notional in [floor, cap) use these rates."""

    notional_floor: Decimal
    notional_cap: Decimal
    max_leverage: int
    maint_margin_ratio: Decimal
    cum: Decimal  # maintenance amount: maintenance margin = notional x ratio - cum


@quick_init
@dataclass(frozen=True, slots=True)
class Accepted:
    order: VenueOrder


@quick_init
@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str
    code: int | None = None
    # Set when the request was refused for rate (429/418/-1003/-1015, or our shared budget was spent):
    # nothing reached the matching engine; the same intent may be retried, after this long, with a new id.
    retry_after_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Ambiguous:
    reason: str
    code: int | None = None


WriteOutcome = Accepted | Rejected | Ambiguous


@quick_init
@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    bid_price: Decimal
    bid_size: Decimal
    ask_price: Decimal
    ask_size: Decimal
    time_ms: int

    @property
    def mid(self) -> Decimal:
        return (self.bid_price + self.ask_price) / 2


@dataclass(frozen=True, slots=True)
class Mark:
    symbol: str
    mark_price: Decimal
    funding_rate: Decimal
    next_funding_ms: int
    time_ms: int


@quick_init
@dataclass(frozen=True, slots=True)
class OrderEvent:
    """ORDER_TRADE_UPDATE: the order's new state and, for executions, the trade."""

    order: VenueOrder
    execution_type: str  # NEW, TRADE, CANCELED, EXPIRED, AMENDMENT, CALCULATED
    trade: VenueTrade | None
    event_ms: int


@quick_init
@dataclass(frozen=True, slots=True)
class AccountEvent:
    """ACCOUNT_UPDATE: balances and only the positions that changed."""

    reason: str
    balances: tuple[VenueBalance, ...] = ()
    positions: tuple[VenuePosition, ...] = ()
    event_ms: int = 0


@dataclass(frozen=True, slots=True)
class StreamInterrupted:
    """The user-data stream dropped (disconnect, listenKeyExpired): events may have been missed."""

    reason: str
    event_ms: int = 0


@dataclass(frozen=True, slots=True)
class StreamResumed:
    """The stream is back; everything since `since_ms` must be reconciled before new orders."""

    since_ms: int
    event_ms: int = 0


UserEvent = OrderEvent | AccountEvent | StreamInterrupted | StreamResumed


@dataclass(frozen=True, slots=True)
class VenueLimits:
    """Budgets announced by the exchange (exchangeInfo rateLimits)."""

    request_weight_per_minute: int = 2400
    orders_per_10s: int = 300
    orders_per_minute: int = 1200
    extra: dict[str, int] = field(default_factory=dict)


class Venue(Protocol):
    """An exchange account. Writes return outcomes; reads raise VenueUnavailable."""

    async def instruments(self) -> list[InstrumentRules]: ...

    async def limits(self) -> VenueLimits: ...

    async def place(self, request: OrderRequest) -> WriteOutcome: ...

    async def place_batch(self, requests: Sequence[OrderRequest]) -> list[WriteOutcome]: ...

    async def amend(self, *, symbol: str, client_order_id: str, side: Side, quantity: Decimal,
                    price: Decimal) -> WriteOutcome: ...

    async def cancel(self, *, symbol: str, client_order_id: str) -> WriteOutcome: ...

    async def cancel_batch(self, *, symbol: str, client_order_ids: Sequence[str]) -> list[WriteOutcome]: ...

    async def fetch_order(self, *, symbol: str, client_order_id: str) -> VenueOrder | None:
        """The order's state; None only when the exchange says it does not exist (-2013)."""
        ...

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]: ...

    async def positions(self) -> list[VenuePosition]: ...

    async def fetch_quote(self, symbol: str) -> Quote | None:
        """Best bid and ask over REST (the price cascade's last resort); None when the venue has none."""
        ...

    async def balances(self) -> list[VenueBalance]: ...

    async def leverage_brackets(self) -> dict[str, list[LeverageTier]]:
        """Every symbol's notional and leverage brackets (margin and liquidation maths)."""
        ...

    async def trades_since(self, *, symbol: str, since_ms: int) -> list[VenueTrade]: ...

    def watch_quotes(self, symbols: Sequence[str]) -> AsyncIterator[Quote | Mark]: ...

    def watch_user_events(self) -> AsyncIterator[UserEvent]: ...

    async def close(self) -> None: ...
