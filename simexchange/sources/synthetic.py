"""Seeded synthetic multi-symbol price process: quotes, trades, mark price and funding."""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from simexchange.marketdata import BookTicker, MarketEvent, MarkPrice, Trade, event_time_ms

FUNDING_INTERVAL_MS = 8 * 60 * 60 * 1000  # 00:00, 08:00, 16:00 UTC: the epoch starts on a boundary
MARK_INTERVAL_MS = 1000
EIGHT_DP = Decimal("0.00000001")  # Binance sends mark, index and funding with 8 decimals
SECONDS_PER_YEAR = 365 * 24 * 3600
INTEREST_RATE = 0.0001  # Binance's fixed interest component per 8 h
FUNDING_CLAMP = 0.0005
FUNDING_CAP = 0.003
NEVER_MS = 2**62  # the next-event time of a stream whose rate is zero


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """How one symbol's synthetic market behaves; prices and sizes are on its tick and step grids."""

    symbol: str
    tick_size: Decimal
    start_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    quote_rate_per_s: float = 10.0
    trade_rate_per_s: float = 3.0
    annual_volatility: float = 0.6  # the diffusion's long-run level; jumps and their aftershocks add to it
    garch_alpha: float = 0.01  # per quote update; alpha + beta near 1 gives minute-scale clustering
    garch_beta: float = 0.989
    jump_rate_per_hour: float = 2.0
    jump_stdev: float = 0.002  # of the log price
    typical_qty_steps: int = 100


DEFAULT_SYMBOL_SPECS: dict[str, SymbolSpec] = {
    spec.symbol: spec
    for spec in (
        SymbolSpec("BTCUSDT", Decimal("0.10"), Decimal("64000.00"), Decimal("0.001"), Decimal("0.001")),
        SymbolSpec(
            "ETHUSDT", Decimal("0.01"), Decimal("3400.00"), Decimal("0.001"), Decimal("0.001"), annual_volatility=0.7
        ),
        SymbolSpec("SOLUSDT", Decimal("0.0100"), Decimal("150.0000"), Decimal("1"), Decimal("1"), typical_qty_steps=20),
        SymbolSpec("BNBUSDT", Decimal("0.010"), Decimal("580.000"), Decimal("0.01"), Decimal("0.01")),
        SymbolSpec(
            "XRPUSDT", Decimal("0.0001"), Decimal("0.6000"), Decimal("0.1"), Decimal("0.1"), typical_qty_steps=5000
        ),
    )
}


def spec_for(symbol: str) -> SymbolSpec:
    """The default spec of a known symbol, or a generic one priced at 100 with a 0.01 tick."""
    symbol = symbol.upper()
    known = DEFAULT_SYMBOL_SPECS.get(symbol)
    if known is not None:
        return known
    return SymbolSpec(symbol, Decimal("0.01"), Decimal("100.00"), Decimal("0.001"), Decimal("0.001"))


def next_funding_time_ms(now_ms: int) -> int:
    """The first funding instant strictly after now_ms."""
    return (now_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS


class SyntheticSource:
    """Events of all symbols in event-time order from start_ms to end_ms (exclusive; None: endless).

    Each symbol has its own generator seeded from (seed, symbol), so adding a symbol does not change
    another's path; iterating twice yields the same sequence.
    """

    def __init__(self, specs: Iterable[SymbolSpec], *, seed: int, start_ms: int, end_ms: int | None = None) -> None:
        self.specs = tuple(specs)
        if not self.specs:
            raise ValueError("a synthetic source needs at least one symbol")
        self.symbols = tuple(spec.symbol for spec in self.specs)
        self.seed = seed
        self.start_ms = start_ms
        self.end_ms = end_ms

    def __iter__(self) -> Iterator[MarketEvent]:
        # heapq.merge breaks time ties by iterable position, i.e. by the configured symbol order.
        streams = [_SymbolProcess(spec, self.seed, self.start_ms).events() for spec in self.specs]
        for event in heapq.merge(*streams, key=event_time_ms):
            if self.end_ms is not None and event.event_time_ms >= self.end_ms:
                return
            yield event


class _SymbolProcess:
    """One symbol's state: log mid with GARCH(1,1)-like variance and jumps, smoothed mark, basis."""

    def __init__(self, spec: SymbolSpec, seed: int, start_ms: int) -> None:
        self.spec = spec
        # A str seed is hashed with SHA-512 by random.Random: stable across processes, unlike hash().
        self.rng = random.Random(f"{seed}/{spec.symbol}")
        self.tick = float(spec.tick_size)
        self.log_mid = math.log(float(spec.start_price))
        self.long_run_variance = spec.annual_volatility**2 / SECONDS_PER_YEAR  # per second
        self.variance = self.long_run_variance
        self.last_ms = start_ms
        self.start_ms = start_ms
        self.bid_ticks = self._bid_ticks()
        self.mark_ema = math.exp(self.log_mid)
        self.basis = 0.0
        self.premium_ema = 0.0
        self.update_id = 1_000_000_000_000 + self.rng.randrange(10**9)
        self.trade_id = 1_000_000_000 + self.rng.randrange(10**8)
        self.min_steps = max(1, math.ceil(spec.min_qty / spec.step_size))

    def events(self) -> Iterator[MarketEvent]:
        spec = self.spec
        next_quote = self.start_ms
        next_trade = self._after(self.start_ms, spec.trade_rate_per_s)
        next_mark = -(-self.start_ms // MARK_INTERVAL_MS) * MARK_INTERVAL_MS
        while True:
            now = min(next_quote, next_trade, next_mark)
            # Same-millisecond ties go quote, trade, mark: a print follows the quote it trades at.
            if now == next_quote:
                yield self._quote(now)
                next_quote = self._after(now, spec.quote_rate_per_s)
            elif now == next_trade:
                yield self._trade(now)
                next_trade = self._after(now, spec.trade_rate_per_s)
            else:
                yield self._mark(now)
                next_mark = now + MARK_INTERVAL_MS

    def _after(self, now_ms: int, rate_per_s: float) -> int:
        if rate_per_s <= 0:
            return NEVER_MS
        gap_ms = self.rng.expovariate(rate_per_s) * 1000
        return now_ms + max(1, round(gap_ms)) if gap_ms < NEVER_MS else NEVER_MS

    def _step(self, now_ms: int) -> None:
        dt = max(now_ms - self.last_ms, 1) / 1000
        self.last_ms = now_ms
        spec = self.spec
        ret = math.sqrt(self.variance * dt) * self.rng.gauss(0.0, 1.0)
        if self.rng.random() < spec.jump_rate_per_hour / 3600 * dt:
            ret += self.rng.gauss(0.0, spec.jump_stdev)
        self.log_mid += ret
        omega = (1 - spec.garch_alpha - spec.garch_beta) * self.long_run_variance
        variance = omega + spec.garch_alpha * ret * ret / dt + spec.garch_beta * self.variance
        # The clip keeps a jump from turning into minutes of absurd volatility.
        self.variance = min(max(variance, self.long_run_variance / 100), self.long_run_variance * 100)

    def _bid_ticks(self) -> int:
        # The mid lies in [bid, ask): a one-tick spread straddling the walk; never below one tick.
        return max(1, math.floor(math.exp(self.log_mid) / self.tick))

    def _qty(self) -> Decimal:
        steps = int(self.rng.lognormvariate(math.log(self.spec.typical_qty_steps), 1.0))
        return self.spec.step_size * max(self.min_steps, steps)

    def _quote(self, now_ms: int) -> BookTicker:
        if now_ms > self.start_ms:
            self._step(now_ms)
        self.bid_ticks = self._bid_ticks()
        self.update_id += self.rng.randint(1, 50)
        tick = self.spec.tick_size
        return BookTicker(
            symbol=self.spec.symbol,
            update_id=self.update_id,
            bid_price=tick * self.bid_ticks,
            bid_qty=self._qty(),
            ask_price=tick * (self.bid_ticks + 1),
            ask_qty=self._qty(),
            transaction_time_ms=now_ms,
            event_time_ms=now_ms,
        )

    def _trade(self, now_ms: int) -> Trade:
        seller_aggressed = self.rng.random() < 0.5
        ticks = self.bid_ticks if seller_aggressed else self.bid_ticks + 1
        self.trade_id += 1
        return Trade(
            symbol=self.spec.symbol,
            trade_id=self.trade_id,
            price=self.spec.tick_size * ticks,
            quantity=self._qty(),
            buyer_is_maker=seller_aggressed,
            trade_time_ms=now_ms,
            event_time_ms=now_ms,
        )

    def _mark(self, now_ms: int) -> MarkPrice:
        mid = (self.bid_ticks + 0.5) * self.tick
        self.mark_ema += (mid - self.mark_ema) * 0.3  # ~3 s smoothing at one update per second
        # Index = mark less a mean-reverting basis; the premium's average drives funding as on Binance.
        self.basis = self.basis * 0.998 + self.rng.gauss(0.0, 0.00001)
        index = self.mark_ema * (1 - self.basis)
        self.premium_ema += (self.basis - self.premium_ema) / 60
        premium = self.premium_ema
        funding = premium + min(max(INTEREST_RATE - premium, -FUNDING_CLAMP), FUNDING_CLAMP)
        funding = min(max(funding, -FUNDING_CAP), FUNDING_CAP)
        tick = self.spec.tick_size
        mark = tick * max(1, round(self.mark_ema / self.tick))
        if mark.as_tuple().exponent >= -8:  # type: ignore[operator]  # finite, so an int
            mark = mark.quantize(EIGHT_DP)
        index_price = max(Decimal(index).quantize(EIGHT_DP), EIGHT_DP)
        return MarkPrice(
            symbol=self.spec.symbol,
            mark_price=mark,
            index_price=index_price,
            estimated_settle_price=index_price,
            funding_rate=Decimal(funding).quantize(EIGHT_DP),
            next_funding_time_ms=next_funding_time_ms(now_ms),
            event_time_ms=now_ms,
        )
