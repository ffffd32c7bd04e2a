"""The compact wire form: Decimals survive exactly, malformed payloads are refused with CodecError."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.marketdata.cache import L1
from trading.marketdata.codec import CodecError, decode_batch, encode_batch, l1_from_hash, l1_to_hash
from trading.tests.marketdata.fakes import mark, quote
from trading.venues.base import Mark, Quote

prices = st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e30"), max_value=Decimal("1e30"),
                     places=None)
exotic = st.sampled_from([Decimal("1E+2"), Decimal("0.000000000000000001"), Decimal("60000.10"), Decimal("-0"),
                          Decimal("1.2300E-7")])
money = st.one_of(prices, exotic)
symbols = st.from_regex(r"[A-Z0-9]{2,12}", fullmatch=True)
times = st.integers(min_value=0, max_value=2**53)
quotes = st.builds(Quote, symbols, money, money, money, money, times)
marks = st.builds(Mark, symbols, money, money, times, times)


def same_digits(left: Quote | Mark, right: Quote | Mark) -> bool:
    """Equal and written the same (digits, exponent, sign): 60000.10 must not come back as 60000.1."""
    fields = ["bid_price", "bid_size", "ask_price", "ask_size"] if isinstance(left, Quote) else \
        ["mark_price", "funding_rate"]
    return left == right and all(getattr(left, f).as_tuple() == getattr(right, f).as_tuple() for f in fields)


@given(st.lists(st.one_of(quotes, marks), max_size=20))
def test_a_batch_of_quotes_and_marks_round_trips_with_every_decimal_exact(events):
    decoded = decode_batch(encode_batch(events))
    assert len(decoded) == len(events)
    assert all(same_digits(a, b) for a, b in zip(events, decoded, strict=True))


@given(st.one_of(quotes.map(lambda q: L1(q.symbol, q, None)), marks.map(lambda m: L1(m.symbol, None, m))))
def test_an_l1_round_trips_through_the_price_cache_hash_exactly(l1):
    back = l1_from_hash(l1.symbol, {k.encode(): v.encode() for k, v in l1_to_hash(l1).items()})
    assert back == l1
    assert back is not None
    back_part, part = back.quote or back.mark, l1.quote or l1.mark
    assert back_part is not None and part is not None and same_digits(part, back_part)


def test_the_wire_form_uses_short_keys_and_prices_as_strings():
    payload = orjson.loads(encode_batch([quote("BTCUSDT", "60000.10", "60000.20", 5)]))
    assert payload == [{"e": "q", "s": "BTCUSDT", "b": "60000.10", "B": "1", "a": "60000.20", "A": "1", "T": 5}]


@pytest.mark.parametrize("payload", [
    b"not json", b'{"e": "q"}', b'[{"e": "x", "s": "BTCUSDT"}]', b'[{"e": "q", "s": "BTCUSDT"}]',
    b'[{"e": "m", "s": "BTCUSDT", "p": 1.5, "r": "0", "n": 1, "T": 1}]',
    b'[{"e": "m", "s": "BTCUSDT", "p": "NaN", "r": "0", "n": 1, "T": 1}]',
    b'[{"e": "m", "s": "BTCUSDT", "p": "abc", "r": "0", "n": 1, "T": 1}]',
    b'[{"e": "m", "s": "", "p": "1", "r": "0", "n": 1, "T": true}]', b"[1]",
])
def test_a_malformed_message_is_refused_with_a_codec_error(payload):
    with pytest.raises(CodecError):
        decode_batch(payload)


def test_a_non_finite_price_is_never_encoded():
    with pytest.raises(CodecError):
        encode_batch([mark("BTCUSDT", "Infinity", 1)])


def test_a_price_hash_missing_a_field_is_refused():
    with pytest.raises(CodecError):
        l1_from_hash("BTCUSDT", {"b": "1", "qT": "5"})
