"""The synthetic price process: grid, spread, ordering, determinism, marks and funding."""

from __future__ import annotations

import itertools
import math
import statistics
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from simexchange.marketdata import BookTicker, MarketEvent, MarkPrice, Trade
from simexchange.sources import SymbolSpec, SyntheticSource, spec_for
from simexchange.sources.synthetic import FUNDING_INTERVAL_MS, next_funding_time_ms

START_MS = 1_721_347_200_000  # 2024-07-19 00:00:00 UTC, a funding instant

ticks = st.sampled_from([Decimal("0.10"), Decimal("0.01"), Decimal("0.0001"), Decimal("0.5"), Decimal("1")])
steps = st.sampled_from([Decimal("0.001"), Decimal("0.1"), Decimal("1")])


@st.composite
def symbol_specs(draw: st.DrawFn, symbol: str) -> SymbolSpec:
    tick = draw(ticks)
    step = draw(steps)
    start_ticks = draw(st.integers(min_value=1, max_value=10**7))
    return SymbolSpec(
        symbol=symbol,
        tick_size=tick,
        start_price=tick * start_ticks,
        step_size=step,
        min_qty=step * draw(st.integers(min_value=1, max_value=5)),
        quote_rate_per_s=draw(st.floats(min_value=0.5, max_value=50)),
        trade_rate_per_s=draw(st.floats(min_value=0, max_value=20)),
        annual_volatility=draw(st.floats(min_value=0.05, max_value=5)),
        jump_rate_per_hour=draw(st.floats(min_value=0, max_value=3600)),
    )


sources = st.builds(
    lambda specs, seed, start: SyntheticSource(specs, seed=seed, start_ms=start),
    st.lists(st.sampled_from(["AAAUSDT", "BBBUSDT", "CCCUSDT"]), min_size=1, max_size=3, unique=True).flatmap(
        lambda names: st.tuples(*(symbol_specs(name) for name in names))
    ),
    st.integers(min_value=0, max_value=2**32),
    st.integers(min_value=0, max_value=4 * 10**12),
)


def first(source: SyntheticSource, count: int = 400) -> list[MarketEvent]:
    return list(itertools.islice(source, count))


def on_grid(price: Decimal, tick: Decimal) -> bool:
    return price > 0 and price % tick == 0


@settings(max_examples=40, deadline=None)
@given(sources)
def test_every_quote_is_positive_on_the_tick_grid_and_one_tick_wide(source: SyntheticSource) -> None:
    tick_of = {spec.symbol: spec.tick_size for spec in source.specs}
    for quote in (event for event in first(source) if isinstance(event, BookTicker)):
        tick = tick_of[quote.symbol]
        assert on_grid(quote.bid_price, tick)
        assert on_grid(quote.ask_price, tick)
        assert quote.ask_price - quote.bid_price == tick


@settings(max_examples=40, deadline=None)
@given(sources)
def test_trades_print_at_the_current_bid_or_ask_in_whole_lots(source: SyntheticSource) -> None:
    spec_of = {spec.symbol: spec for spec in source.specs}
    touch: dict[str, BookTicker] = {}
    for event in first(source):
        if isinstance(event, BookTicker):
            touch[event.symbol] = event
        elif isinstance(event, Trade):
            quote, spec = touch[event.symbol], spec_of[event.symbol]
            expected = quote.bid_price if event.buyer_is_maker else quote.ask_price
            assert event.price == expected
            assert event.quantity >= spec.min_qty
            assert event.quantity % spec.step_size == 0


@settings(max_examples=40, deadline=None)
@given(sources)
def test_events_come_in_event_time_order_from_the_start_time(source: SyntheticSource) -> None:
    times = [event.event_time_ms for event in first(source)]
    assert times == sorted(times)
    assert times[0] >= source.start_ms


@settings(max_examples=25, deadline=None)
@given(sources)
def test_the_same_seed_gives_the_same_sequence(source: SyntheticSource) -> None:
    twin = SyntheticSource(source.specs, seed=source.seed, start_ms=source.start_ms)
    assert first(source) == first(twin)


def test_different_seeds_give_different_paths() -> None:
    specs = [spec_for("BTCUSDT")]
    one = first(SyntheticSource(specs, seed=1, start_ms=START_MS))
    two = first(SyntheticSource(specs, seed=2, start_ms=START_MS))
    assert one != two


def test_adding_a_symbol_leaves_the_others_paths_unchanged() -> None:
    alone = SyntheticSource([spec_for("BTCUSDT")], seed=5, start_ms=START_MS, end_ms=START_MS + 60_000)
    together = SyntheticSource(
        [spec_for("BTCUSDT"), spec_for("ETHUSDT")], seed=5, start_ms=START_MS, end_ms=START_MS + 60_000
    )
    assert list(alone) == [event for event in together if event.symbol == "BTCUSDT"]


def test_events_stop_before_the_end_time() -> None:
    source = SyntheticSource([spec_for("BTCUSDT")], seed=0, start_ms=START_MS, end_ms=START_MS + 5_000)
    events = list(source)
    assert events
    assert max(event.event_time_ms for event in events) < START_MS + 5_000


def test_quotes_arrive_at_about_the_configured_rate() -> None:
    spec = SymbolSpec("XUSDT", Decimal("0.01"), Decimal("100"), Decimal("1"), Decimal("1"), quote_rate_per_s=20)
    events = list(SyntheticSource([spec], seed=3, start_ms=0, end_ms=100_000))
    quotes = sum(isinstance(event, BookTicker) for event in events)
    assert 1800 < quotes < 2200


def test_a_mark_price_comes_every_second_close_to_the_mid() -> None:
    source = SyntheticSource([spec_for("ETHUSDT")], seed=11, start_ms=START_MS + 250, end_ms=START_MS + 120_250)
    mid = Decimal(0)
    marks: list[MarkPrice] = []
    for event in source:
        if isinstance(event, BookTicker):
            mid = (event.bid_price + event.ask_price) / 2
        elif isinstance(event, MarkPrice):
            marks.append(event)
            assert abs(event.mark_price - mid) / mid < Decimal("0.002")
            assert abs(event.index_price - event.mark_price) / mid < Decimal("0.005")
    assert [mark.event_time_ms for mark in marks] == list(range(START_MS + 1000, START_MS + 120_250, 1000))


def test_mark_price_carries_binances_eight_decimals_on_the_tick_grid() -> None:
    mark = next(
        event for event in SyntheticSource([spec_for("BTCUSDT")], seed=1, start_ms=0) if isinstance(event, MarkPrice)
    )
    assert mark.mark_price.as_tuple().exponent == -8
    assert mark.mark_price % Decimal("0.10") == 0
    assert mark.funding_rate.as_tuple().exponent == -8


def test_funding_is_due_at_the_next_0_8_or_16_utc() -> None:
    assert next_funding_time_ms(START_MS - 1) == START_MS
    assert next_funding_time_ms(START_MS) == START_MS + FUNDING_INTERVAL_MS
    assert next_funding_time_ms(START_MS + 5 * 3_600_000) == START_MS + 8 * 3_600_000


def test_funding_rate_stays_near_the_interest_rate_and_within_the_cap() -> None:
    source = SyntheticSource([spec_for("BTCUSDT")], seed=2, start_ms=START_MS, end_ms=START_MS + 600_000)
    rates = [event.funding_rate for event in source if isinstance(event, MarkPrice)]
    assert all(abs(rate) <= Decimal("0.003") for rate in rates)
    assert statistics.median(rates) == Decimal("0.0001")


def test_volatility_clusters_squared_returns_are_autocorrelated() -> None:
    source = SyntheticSource([spec_for("BTCUSDT")], seed=7, start_ms=0, end_ms=2 * 3_600_000)
    mid_by_second: dict[int, float] = {}
    for event in source:
        if isinstance(event, BookTicker):
            mid_by_second[event.event_time_ms // 1000] = float(event.bid_price + event.ask_price) / 2
    mids = [mid_by_second[second] for second in sorted(mid_by_second)]
    squares = [math.log(b / a) ** 2 for a, b in itertools.pairwise(mids)]
    mean = statistics.fmean(squares)
    lagged = sum((x - mean) * (y - mean) for x, y in zip(squares, squares[10:], strict=False))
    assert lagged / sum((x - mean) ** 2 for x in squares) > 0.05


def test_a_price_near_zero_stays_at_least_one_tick() -> None:
    spec = SymbolSpec(
        "DUSTUSDT", Decimal("0.0001"), Decimal("0.0002"), Decimal("1"), Decimal("1"), annual_volatility=50.0
    )
    quotes = [
        event for event in SyntheticSource([spec], seed=1, start_ms=0, end_ms=60_000) if isinstance(event, BookTicker)
    ]
    assert min(quote.bid_price for quote in quotes) >= Decimal("0.0001")
