"""ReplayTicks: the MarketDataService surface the AlgoEngine needs, fed by a replayed stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

TWO = Decimal(2)


@dataclass(slots=True)
class ReplayL1:
    """What a subscriber reads off a tick (the live L1's bid and ask), without building a Quote per tick."""

    symbol: str
    bid: Decimal
    ask: Decimal
    time_ms: int


class ReplayTicks:
    """subscribe / reference_price / cached_price over the latest replayed quote of each symbol.

    The replay has no staleness: the latest quote is the price, as a live feed's fresh L1 would be.
    """

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Callable[[Any], None]]] = {}
        self._latest: dict[str, tuple[Decimal, Decimal, int]] = {}
        self._mids: dict[str, Decimal] = {}

    def subscribe(self, symbol: str, callback: Callable[[Any], None]) -> Callable[[], None]:
        callbacks = self._subscribers.setdefault(symbol, [])
        callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in callbacks:
                callbacks.remove(callback)

        return unsubscribe

    def subscribers(self, symbol: str) -> int:
        return len(self._subscribers.get(symbol, ()))

    def reference_price(self, symbol: str) -> Decimal | None:
        return self.cached_price(symbol)

    def cached_price(self, symbol: str) -> Decimal | None:
        mid = self._mids.get(symbol)
        if mid is None:
            latest = self._latest.get(symbol)
            if latest is None:
                return None
            mid = self._mids[symbol] = (latest[0] + latest[1]) / TWO
        return mid

    def touch_price(self, symbol: str, *, buying: bool) -> Decimal | None:
        """The OrderManager's PriceSource: what a market order would take now."""
        latest = self._latest.get(symbol)
        if latest is None:
            return None
        return latest[1] if buying else latest[0]

    def note(self, symbol: str, bid: Decimal, ask: Decimal, time_ms: int) -> None:
        """Store the quote as the symbol's price, without handing it to anyone yet."""
        self._latest[symbol] = (bid, ask, time_ms)
        self._mids.pop(symbol, None)  # the mid is computed only when someone asks

    def push(self, symbol: str, bid: Decimal, ask: Decimal, time_ms: int) -> bool:
        """Store the quote and hand it to every subscriber (in subscription order); False when nobody listens."""
        self._latest[symbol] = (bid, ask, time_ms)
        self._mids.pop(symbol, None)
        callbacks = self._subscribers.get(symbol)
        if not callbacks:
            return False
        l1 = ReplayL1(symbol, bid, ask, time_ms)
        for callback in tuple(callbacks):
            callback(l1)
        return True
