"""Market events that price sources produce and the matching core consumes (prices are Decimal)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class BookTicker:
    """Best bid and ask (Binance `<sym>@bookTicker`)."""

    symbol: str
    update_id: int
    bid_price: Decimal
    bid_qty: Decimal
    ask_price: Decimal
    ask_qty: Decimal
    transaction_time_ms: int  # "T"
    event_time_ms: int  # "E"


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade print (Binance `<sym>@trade`); buyer_is_maker means the aggressor sold."""

    symbol: str
    trade_id: int
    price: Decimal
    quantity: Decimal
    buyer_is_maker: bool
    trade_time_ms: int  # "T"
    event_time_ms: int  # "E"


@dataclass(frozen=True, slots=True)
class MarkPrice:
    """Mark, index and funding (Binance `<sym>@markPrice@1s`)."""

    symbol: str
    mark_price: Decimal
    index_price: Decimal
    estimated_settle_price: Decimal
    funding_rate: Decimal
    next_funding_time_ms: int
    event_time_ms: int


MarketEvent = BookTicker | Trade | MarkPrice


def event_time_ms(event: MarketEvent) -> int:
    return event.event_time_ms
