"""Rolling 24-hour ticker statistics per symbol from public trades (`<sym>@ticker`, event 24hrTicker)."""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any

from simexchange import wire
from simexchange.core import SymbolSpec
from simexchange.marketdata import Trade

DAY_MS = 24 * 60 * 60 * 1000
ZERO = Decimal(0)


class RollingTicker:
    """Trades of the last 24 h with running sums, and monotonic deques for the high and the low."""

    def __init__(self, spec: SymbolSpec) -> None:
        self.spec = spec
        self._trades: deque[Trade] = deque()
        self._highs: deque[Trade] = deque()
        self._lows: deque[Trade] = deque()
        self._volume = ZERO
        self._quote_volume = ZERO

    def add(self, trade: Trade) -> None:
        self._trades.append(trade)
        self._volume += trade.quantity
        self._quote_volume += trade.quantity * trade.price
        while self._highs and self._highs[-1].price <= trade.price:
            self._highs.pop()
        self._highs.append(trade)
        while self._lows and self._lows[-1].price >= trade.price:
            self._lows.pop()
        self._lows.append(trade)
        self._expire(trade.trade_time_ms - DAY_MS)

    def _expire(self, cutoff_ms: int) -> None:
        while self._trades and self._trades[0].trade_time_ms <= cutoff_ms:
            old = self._trades.popleft()
            self._volume -= old.quantity
            self._quote_volume -= old.quantity * old.price
            if self._highs and self._highs[0] is old:
                self._highs.popleft()
            if self._lows and self._lows[0] is old:
                self._lows.popleft()

    def payload(self, event_time_ms: int) -> dict[str, Any]:
        first, last = self._trades[0], self._trades[-1]
        spec = self.spec
        change = last.price - first.price
        percent = change / first.price * 100 if first.price else ZERO
        weighted = self._quote_volume / self._volume if self._volume else last.price
        return {
            "e": "24hrTicker",
            "E": event_time_ms,
            "s": spec.symbol,
            "p": wire.fixed(change, spec.price_precision),
            "P": wire.fixed(percent, 3),
            "w": wire.fixed(weighted, spec.price_precision),
            "c": wire.fixed(last.price, spec.price_precision),
            "Q": wire.fixed(last.quantity, spec.quantity_precision),
            "o": wire.fixed(first.price, spec.price_precision),
            "h": wire.fixed(self._highs[0].price, spec.price_precision),
            "l": wire.fixed(self._lows[0].price, spec.price_precision),
            "v": wire.fixed(self._volume, spec.quantity_precision),
            "q": wire.fixed(self._quote_volume, 8),
            "O": max(event_time_ms - DAY_MS, 0),
            "C": event_time_ms,
            "F": first.trade_id,
            "L": last.trade_id,
            "n": len(self._trades),
        }


def mini_ticker(full: dict[str, Any]) -> dict[str, Any]:
    """`<sym>@miniTicker` (24hrMiniTicker): the full ticker's close, open, high, low and volumes."""
    return {
        "e": "24hrMiniTicker",
        "E": full["E"],
        "s": full["s"],
        "c": full["c"],
        "o": full["o"],
        "h": full["h"],
        "l": full["l"],
        "v": full["v"],
        "q": full["q"],
    }


class TickerBook:
    """One RollingTicker per symbol."""

    def __init__(self, specs: dict[str, SymbolSpec]) -> None:
        self._tickers = {symbol: RollingTicker(spec) for symbol, spec in specs.items()}

    def add(self, trade: Trade) -> None:
        ticker = self._tickers.get(trade.symbol)
        if ticker is not None:
            ticker.add(trade)

    def payload(self, symbol: str, event_time_ms: int) -> dict[str, Any] | None:
        ticker = self._tickers.get(symbol)
        return None if ticker is None else ticker.payload(event_time_ms)
