"""Collaborator interfaces of the OrderManager: pre-trade checks, prices, event publishing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from trading.domain.records import OrderIntent


@dataclass(frozen=True, slots=True)
class Denial:
    reason: str
    code: str = "risk_denied"


class PreTradeCheck(Protocol):
    """Called before every order, algo children included; returns a denial, never raises."""

    def check(self, intent: OrderIntent, *, reference_price: Decimal | None) -> Denial | None: ...


class AllowAll:
    """Until the risk engine lands every order passes, but the hook is called on every order."""

    def __init__(self) -> None:
        self.calls = 0

    def check(self, intent: OrderIntent, *, reference_price: Decimal | None) -> Denial | None:
        self.calls += 1
        return None


class PriceSource(Protocol):
    def reference_price(self, symbol: str) -> Decimal | None:
        """Mark or mid, fresh (≤ 10 s) or None."""
        ...

    def touch_price(self, symbol: str, *, buying: bool) -> Decimal | None:
        """The price a market order would take now (ask for a buy, bid for a sell), or None."""
        ...


class NoPrices:
    def reference_price(self, symbol: str) -> Decimal | None:
        return None

    def touch_price(self, symbol: str, *, buying: bool) -> Decimal | None:
        return None


EventSink = Callable[[str, str, dict[str, Any]], None]


def discard_events(group: str, event_type: str, data: dict[str, Any]) -> None:
    """For backtests and tests that do not watch events."""
