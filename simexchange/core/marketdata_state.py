"""The latest market facts per symbol that matching, margin and funding read."""

from __future__ import annotations

from decimal import Decimal

from simexchange.marketdata import BookTicker


class MarketState:
    """Latest L1 quote, mark/index/funding and last trade price of one symbol."""

    __slots__ = (
        "funding_rate",
        "index_price",
        "last_price",
        "mark_price",
        "next_funding_time_ms",
        "quote",
        "settled_funding_time_ms",
    )

    def __init__(self) -> None:
        self.quote: BookTicker | None = None
        self.mark_price: Decimal | None = None
        self.index_price: Decimal | None = None
        self.funding_rate: Decimal | None = None
        self.next_funding_time_ms = 0
        self.settled_funding_time_ms = 0  # the funding time already charged: never twice
        self.last_price: Decimal | None = None

    def reference_price(self) -> Decimal | None:
        """A price to value things at when no mark has arrived yet: mark, else mid, else last trade."""
        if self.mark_price is not None:
            return self.mark_price
        if self.quote is not None and self.quote.bid_price and self.quote.ask_price:
            return (self.quote.bid_price + self.quote.ask_price) / 2
        return self.last_price
