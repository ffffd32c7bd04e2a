"""The L1 cache keeps the latest exchange time per part, and a stale price is never offered."""

from __future__ import annotations

from decimal import Decimal

from trading.marketdata.cache import L1Cache
from trading.tests.marketdata.fakes import mark, quote

D = Decimal


def test_an_older_quote_does_not_replace_a_newer_one():
    cache = L1Cache()
    cache.apply(quote("BTCUSDT", "100", "101", 2_000))
    assert cache.apply(quote("BTCUSDT", "90", "91", 1_000)) is None
    held = cache.get("BTCUSDT")
    assert held is not None and held.bid == D("100")


def test_a_repeated_tick_is_not_an_update():
    cache = L1Cache()
    cache.apply(quote("BTCUSDT", "100", "101", 2_000))
    assert cache.apply(quote("BTCUSDT", "100", "101", 2_000)) is None


def test_quote_and_mark_combine_into_one_l1_with_a_mid():
    cache = L1Cache()
    cache.apply(quote("BTCUSDT", "100", "101", 2_000))
    l1 = cache.apply(mark("BTCUSDT", "100.4", 2_500))
    assert l1 is not None
    assert (l1.mid, l1.mark_price, l1.time_ms) == (D("100.5"), D("100.4"), 2_500)


def test_the_price_is_the_fresh_mid_then_the_fresh_mark_then_none():
    cache = L1Cache()
    cache.apply(quote("BTCUSDT", "100", "101", 0))
    l1 = cache.apply(mark("BTCUSDT", "100.4", 5_000))
    assert l1 is not None
    assert l1.fresh_price(10_000) == D("100.5")
    assert l1.fresh_price(10_001) == D("100.4")  # the book is 10.001 s old, the mark is not
    assert l1.fresh_price(15_001) is None
