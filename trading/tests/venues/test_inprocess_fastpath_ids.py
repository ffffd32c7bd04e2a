"""Client ids on the fast path: the two-digits-at-a-time base62 writes exactly what one digit at a time writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from trading.domain.client_ids import encode_base62

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def one_digit_at_a_time(number: int) -> str:
    digits = BASE62[number % 62]
    while number >= 62:
        number //= 62
        digits = BASE62[number % 62] + digits
    return digits


@settings(max_examples=500, deadline=None)
@given(number=st.one_of(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=0, max_value=300_000),
                        st.integers(min_value=0, max_value=12).map(lambda power: 62**power),
                        st.integers(min_value=1, max_value=12).map(lambda power: 62**power - 1)))
def test_base62_matches_the_digit_by_digit_encoding_with_no_leading_zero(number: int) -> None:
    text = encode_base62(number)

    assert text == one_digit_at_a_time(number)
    assert text == "0" or not text.startswith("0")
