"""What every price source is: a re-iterable, time-ordered stream of market events over known symbols."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from simexchange.marketdata import MarketEvent


class PriceSource(Protocol):
    """Iterating starts from the beginning again and yields the same events (deterministic)."""

    @property
    def symbols(self) -> tuple[str, ...]: ...

    def __iter__(self) -> Iterator[MarketEvent]: ...
