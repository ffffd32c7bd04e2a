"""The prediction-market lag detector against the simulated window venue."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from algos.strategies.predmarket.detector import Momentum, lag_signal
from algos.strategies.predmarket.venue import SimulatedWindowVenue, up_probability

D = Decimal
VOL = 0.0005 / math.sqrt(60_000)


def rally(venue: SimulatedWindowVenue, momentum: Momentum, *, start: int = 0, seconds: int = 120) -> int:
    """Flat for a minute, then +0.4 % over the next minute; returns the last time."""
    now = start
    for second in range(seconds + 1):
        now = start + second * 1000
        price = D(100000) if second <= 60 else D(100000) * (1 + D("0.004") * (second - 60) / 60)
        venue.observe(price, now)
        momentum.add(price, now)
    return now


def test_up_probability_is_a_half_at_the_strike_and_rises_above_it():
    assert up_probability(price=100, strike=100, remaining_ms=60_000, volatility_per_sqrt_ms=VOL) == pytest.approx(0.5)
    assert up_probability(price=100.2, strike=100, remaining_ms=60_000, volatility_per_sqrt_ms=VOL) > 0.99
    assert up_probability(price=99, strike=100, remaining_ms=0, volatility_per_sqrt_ms=VOL) == 0.0


def test_a_lagging_market_after_a_rally_gives_an_up_signal_above_half_a_point():
    venue = SimulatedWindowVenue(symbol="BTCUSDT", lag_ms=30_000, volatility_per_sqrt_ms=VOL * 4)
    momentum = Momentum(60_000)
    now = rally(venue, momentum)
    market = venue.market_at("BTCUSDT", now)
    assert market is not None and market.strike == D(100000)
    quote = venue.quote(market.market_id, now)
    assert quote is not None
    signal = lag_signal(market=market, quote=quote, price=D("100400"), momentum=momentum, now_ms=now,
                        volatility_per_sqrt_ms=VOL * 4)
    assert signal is not None and signal.outcome == "up" and signal.edge >= 0.005
    assert signal.implied < signal.fair


def test_a_market_in_step_with_the_exchange_gives_no_signal():
    venue = SimulatedWindowVenue(symbol="BTCUSDT", lag_ms=0, volatility_per_sqrt_ms=VOL * 4)
    momentum = Momentum(60_000)
    for second in range(61):
        venue.observe(D(100000), second * 1000)
        momentum.add(D(100000), second * 1000)
    market = venue.market_at("BTCUSDT", 60_000)
    assert market is not None
    quote = venue.quote(market.market_id, 60_000)
    assert quote is not None
    assert lag_signal(market=market, quote=quote, price=D(100000), momentum=momentum, now_ms=60_000,
                      volatility_per_sqrt_ms=VOL * 4) is None


def test_the_edge_threshold_is_half_a_percentage_point():
    venue = SimulatedWindowVenue(symbol="BTCUSDT", lag_ms=30_000, volatility_per_sqrt_ms=VOL * 4)
    momentum = Momentum(60_000)
    now = rally(venue, momentum)
    market = venue.market_at("BTCUSDT", now)
    quote = venue.quote(market.market_id, now)  # type: ignore[union-attr]
    assert market is not None and quote is not None
    signal = lag_signal(market=market, quote=quote, price=D("100400"), momentum=momentum, now_ms=now,
                        volatility_per_sqrt_ms=VOL * 4)
    assert signal is not None
    assert lag_signal(market=market, quote=quote, price=D("100400"), momentum=momentum, now_ms=now,
                      volatility_per_sqrt_ms=VOL * 4, threshold=signal.edge + 0.001) is None


def test_bets_settle_by_the_close_against_the_strike():
    venue = SimulatedWindowVenue(symbol="BTCUSDT", lag_ms=30_000, volatility_per_sqrt_ms=VOL * 4)
    momentum = Momentum()
    now = rally(venue, momentum)
    market = venue.market_at("BTCUSDT", now)
    assert market is not None
    bet = venue.buy(market.market_id, "up", D(10), now)
    assert bet.shares == D(10) / bet.price
    assert venue.settle(bet, close=D(100300), strike=market.strike) == bet.shares - D(10)
    assert venue.settle(bet, close=D(99990), strike=market.strike) == D(-10)


def test_bad_bets_are_refused_and_nothing_is_recorded():
    venue = SimulatedWindowVenue(symbol="BTCUSDT")
    venue.observe(D(100000), 0)
    with pytest.raises(ValueError, match="outcome"):
        venue.buy("BTCUSDT-0", "sideways", D(1), 0)
    with pytest.raises(ValueError, match="stake"):
        venue.buy("BTCUSDT-0", "up", D(0), 0)
    assert venue.bets == []


def test_the_simulated_venue_is_reproducible_with_its_seed():
    quotes = []
    for _ in range(2):
        venue = SimulatedWindowVenue(symbol="BTCUSDT", noise=0.01, seed=3)
        venue.observe(D(100000), 0)
        quotes.append([venue.quote("BTCUSDT-0", t) for t in range(0, 5000, 1000)])
    assert quotes[0] == quotes[1]
