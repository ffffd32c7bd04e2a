"""The L1 cache: the latest quote and mark per symbol, latest exchange time wins."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trading.venues.base import Mark, Quote

STALE_AFTER_MS = 10_000


@dataclass(frozen=True, slots=True)
class L1:
    """Top of book and mark price of one symbol; either part may be missing until its first tick."""

    symbol: str
    quote: Quote | None = None
    mark: Mark | None = None

    @property
    def bid(self) -> Decimal | None:
        return self.quote.bid_price if self.quote else None

    @property
    def ask(self) -> Decimal | None:
        return self.quote.ask_price if self.quote else None

    @property
    def bid_size(self) -> Decimal | None:
        return self.quote.bid_size if self.quote else None

    @property
    def ask_size(self) -> Decimal | None:
        return self.quote.ask_size if self.quote else None

    @property
    def mid(self) -> Decimal | None:
        return self.quote.mid if self.quote else None

    @property
    def mark_price(self) -> Decimal | None:
        return self.mark.mark_price if self.mark else None

    @property
    def time_ms(self) -> int:
        """The exchange time of the newer part."""
        return max(self.quote.time_ms if self.quote else 0, self.mark.time_ms if self.mark else 0)

    def fresh_quote(self, now_ms: int, max_age_ms: int = STALE_AFTER_MS) -> Quote | None:
        return self.quote if self.quote is not None and now_ms - self.quote.time_ms <= max_age_ms else None

    def fresh_mark(self, now_ms: int, max_age_ms: int = STALE_AFTER_MS) -> Mark | None:
        return self.mark if self.mark is not None and now_ms - self.mark.time_ms <= max_age_ms else None

    def fresh_price(self, now_ms: int, max_age_ms: int = STALE_AFTER_MS) -> Decimal | None:
        """The mid of a fresh quote, else a fresh mark price, else None: a stale price is never used."""
        quote = self.fresh_quote(now_ms, max_age_ms)
        if quote is not None:
            return quote.mid
        mark = self.fresh_mark(now_ms, max_age_ms)
        return mark.mark_price if mark is not None else None


def _newer(current: Quote | Mark | None, candidate: Quote | Mark | None) -> bool:
    """Does the candidate replace the current part? Equal times: yes if it differs (it arrived later)."""
    if candidate is None:
        return False
    if current is None:
        return True
    return candidate.time_ms > current.time_ms or (candidate.time_ms == current.time_ms and candidate != current)


class L1Cache:
    """symbol -> L1. Events from two sources (Redis and a direct watch) may interleave; time decides."""

    def __init__(self) -> None:
        self._by_symbol: dict[str, L1] = {}

    def get(self, symbol: str) -> L1 | None:
        return self._by_symbol.get(symbol)

    def symbols(self) -> list[str]:
        return list(self._by_symbol)

    def apply(self, event: Quote | Mark) -> L1 | None:
        """Store a tick; the new L1, or None when it is older than (or the same as) what is held."""
        current = self._by_symbol.get(event.symbol) or L1(event.symbol)
        if isinstance(event, Quote):
            if not _newer(current.quote, event):
                return None
            updated = L1(event.symbol, event, current.mark)
        else:
            if not _newer(current.mark, event):
                return None
            updated = L1(event.symbol, current.quote, event)
        self._by_symbol[event.symbol] = updated
        return updated

    def merge(self, l1: L1) -> L1:
        """Fold in an L1 read from elsewhere (the Redis hash, a REST read); each part keeps the newer."""
        if l1.quote is not None:
            self.apply(l1.quote)
        if l1.mark is not None:
            self.apply(l1.mark)
        return self._by_symbol.get(l1.symbol) or l1
