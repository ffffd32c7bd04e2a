"""Turning candles into a deterministic quote and trade path with a synthetic spread."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from itertools import pairwise

from simexchange.marketdata import BookTicker, MarketEvent, Trade


@dataclass(frozen=True, slots=True)
class Kline:
    """One candle: prices as Decimal, open_time_ms its start, interval_ms its length."""

    symbol: str
    open_time_ms: int
    interval_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class PathConfig:
    """How a candle becomes quotes: spread_ticks wide, steps_per_leg points per leg of O-L-H-C."""

    tick_size: Decimal
    step_size: Decimal
    spread_ticks: int = 1
    steps_per_leg: int = 4


class KlinePather:
    """Stateful across candles only in its update and trade id counters, so output is reproducible."""

    def __init__(self, config: PathConfig, *, first_update_id: int = 1, first_trade_id: int = 1) -> None:
        if config.spread_ticks < 1 or config.steps_per_leg < 1:
            raise ValueError("spread_ticks and steps_per_leg must be at least 1")
        self.config = config
        self.update_id = first_update_id
        self.trade_id = first_trade_id

    def events(self, kline: Kline) -> Iterator[MarketEvent]:
        """Quotes whose mid walks open -> low -> high -> close (high first on a down bar), with prints."""
        points = self._path_ticks(kline)
        last = len(points) - 1
        span_ms = max(kline.interval_ms - 1, 0)
        sizes = self._trade_sizes(kline.volume, len(points))
        quote_qty = max(self.config.step_size, sizes[0])
        previous: int | None = None
        for index, ticks in enumerate(points):
            at_ms = kline.open_time_ms + span_ms * index // last
            if ticks != previous:  # like Binance, only a changed top of book is pushed
                yield self._quote(kline.symbol, ticks, quote_qty, at_ms)
            if sizes[index] > 0:
                rising = previous is not None and ticks > previous
                yield self._trade(kline.symbol, ticks, sizes[index], at_ms, buyer_is_maker=not rising)
            previous = ticks

    def _to_ticks(self, price: Decimal) -> int:
        # Half-even rounding onto the grid: a candle finer than the tick lands on the nearest tick.
        return max(1, int((price / self.config.tick_size).to_integral_value()))

    def _path_ticks(self, kline: Kline) -> list[int]:
        open_, high, low, close = (self._to_ticks(p) for p in (kline.open, kline.high, kline.low, kline.close))
        corners = [open_, low, high, close] if close > open_ else [open_, high, low, close]
        steps = self.config.steps_per_leg
        points = [open_]
        for start, end in pairwise(corners):
            # Integer rounding keeps the path exact: each leg ends exactly on its corner.
            points.extend(start + ((end - start) * 2 * step + steps) // (2 * steps) for step in range(1, steps + 1))
        return points

    def _trade_sizes(self, volume: Decimal, count: int) -> list[Decimal]:
        # Equal prints rounded down to the lot step; the last takes the remainder so volume is kept.
        step = self.config.step_size
        total = volume.quantize(step, rounding=ROUND_DOWN) if volume > 0 else Decimal(0)
        each = (total / count).quantize(step, rounding=ROUND_DOWN)
        sizes = [each] * count
        sizes[-1] = total - each * (count - 1)
        return sizes

    def _quote(self, symbol: str, mid_ticks: int, quantity: Decimal, at_ms: int) -> BookTicker:
        # The quote is centred on the path price: mid == price for an even spread, half a tick above
        # for an odd one (a mid between two ticks cannot sit on the grid).
        tick = self.config.tick_size
        spread = self.config.spread_ticks
        bid_ticks = max(1, mid_ticks - spread // 2)
        self.update_id += 1
        return BookTicker(
            symbol=symbol,
            update_id=self.update_id,
            bid_price=tick * bid_ticks,
            bid_qty=quantity,
            ask_price=tick * (bid_ticks + spread),
            ask_qty=quantity,
            transaction_time_ms=at_ms,
            event_time_ms=at_ms,
        )

    def _trade(self, symbol: str, ticks: int, quantity: Decimal, at_ms: int, *, buyer_is_maker: bool) -> Trade:
        self.trade_id += 1
        return Trade(
            symbol=symbol,
            trade_id=self.trade_id,
            price=self.config.tick_size * ticks,
            quantity=quantity,
            buyer_is_maker=buyer_is_maker,
            trade_time_ms=at_ms,
            event_time_ms=at_ms,
        )
