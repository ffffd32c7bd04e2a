"""Mark prices derived from quote mids, for recorded data that carries no markPrice stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from simexchange.marketdata import BookTicker, MarketEvent, MarkPrice, Trade
from simexchange.sources.base import PriceSource
from simexchange.sources.synthetic import EIGHT_DP, MARK_INTERVAL_MS, next_funding_time_ms

NO_TIME = -(2**62)


@dataclass(slots=True)
class _SymbolMarks:
    due_ms: int
    seen_ms: int = NO_TIME  # last event of any kind
    recorded_ms: int = NO_TIME  # last recorded MarkPrice
    price: Decimal | None = None
    quoted: bool = False


@dataclass(slots=True)
class DerivedMarks:
    """Wraps a source; adds a MarkPrice (mark = index = last mid) every second per symbol.

    Recorded marks take precedence: none is derived within recorded_grace_ms of a recorded one.
    A silence longer than stale_ms in a symbol's data (between two recordings) stays unfilled,
    except that a symbol whose data ends while others go on gets up to stale_ms of trailing marks.
    A symbol with trades but no quotes uses the last print.
    """

    source: PriceSource
    funding_rate: Decimal = Decimal("0.00010000")
    stale_ms: int = 60_000
    recorded_grace_ms: int = 3 * MARK_INTERVAL_MS
    symbols: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.symbols = tuple(self.source.symbols)

    def __iter__(self) -> Iterator[MarketEvent]:
        books: dict[str, _SymbolMarks] = {}
        for event in self.source:
            yield from self._due(books, event.event_time_ms)
            book = books.get(event.symbol)
            if book is None:
                book = books[event.symbol] = _SymbolMarks(_grid_at_or_after(event.event_time_ms))
            _note(book, event)
            yield event

    def _due(self, books: dict[str, _SymbolMarks], until_ms: int) -> Iterator[MarkPrice]:
        """Marks due at or before until_ms, in time order, ties in symbol first-seen order."""
        pending = [(book.due_ms, order, symbol) for order, (symbol, book) in enumerate(books.items())]
        while pending:
            pending.sort()
            due_ms, order, symbol = pending[0]
            if due_ms > until_ms:
                return
            book = books[symbol]
            if until_ms - book.seen_ms > self.stale_ms:
                # Leave a gap in the data unfilled: resume on the grid after the event that ends it.
                book.due_ms = _grid_at_or_after(until_ms + 1)
            else:
                if book.price is not None and due_ms - book.recorded_ms > self.recorded_grace_ms:
                    yield self._mark(symbol, book.price, due_ms)
                book.due_ms = due_ms + MARK_INTERVAL_MS
            pending[0] = (book.due_ms, order, symbol)

    def _mark(self, symbol: str, price: Decimal, at_ms: int) -> MarkPrice:
        return MarkPrice(
            symbol=symbol,
            mark_price=price,
            index_price=price,
            estimated_settle_price=price,
            funding_rate=self.funding_rate,
            next_funding_time_ms=next_funding_time_ms(at_ms),
            event_time_ms=at_ms,
        )


def _grid_at_or_after(at_ms: int) -> int:
    return -(-at_ms // MARK_INTERVAL_MS) * MARK_INTERVAL_MS


def _note(book: _SymbolMarks, event: MarketEvent) -> None:
    book.seen_ms = event.event_time_ms
    if isinstance(event, BookTicker):
        book.price = ((event.bid_price + event.ask_price) / 2).quantize(EIGHT_DP)
        book.quoted = True
    elif isinstance(event, MarkPrice):
        book.recorded_ms = event.event_time_ms
    elif isinstance(event, Trade) and not book.quoted:
        book.price = event.price.quantize(EIGHT_DP)
