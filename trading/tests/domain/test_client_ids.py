"""Client order ids: ours round-trip and satisfy Binance; everybody else's parse to None."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trading.domain.client_ids import (
    OrderOrigin,
    client_id_is_ours,
    client_id_make,
    client_id_parse,
    encode_base62,
)

# Written out independently of the module under test.
BINANCE_CHARSET = re.compile(r"[.A-Z:/a-z0-9_-]+")
OURS = re.compile(r"PMS[a-z0-9]{8}_(MKT|LMT|CHS|SCL|TWP|TRS|STR|RCN|ADL)_[A-Za-z0-9]{1,16}")
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

sub_codes = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=8)
uniques = st.text(alphabet=BASE62, min_size=1, max_size=16)
origins = st.sampled_from(OrderOrigin)


def decode_base62(text: str) -> int:
    number = 0
    for char in text:
        number = number * 62 + BASE62.index(char)
    return number


@settings(max_examples=300, deadline=None)
@given(sub=sub_codes, origin=origins, unique=uniques)
def test_a_made_id_parses_back_to_its_parts(sub: str, origin: OrderOrigin, unique: str) -> None:
    client_id = client_id_make(sub, origin, unique)

    parsed = client_id_parse(client_id)

    assert parsed is not None
    assert (parsed.sub_account_code, parsed.origin, parsed.unique) == (sub, origin, unique)
    assert str(parsed) == client_id


@settings(max_examples=300, deadline=None)
@given(sub=sub_codes, origin=origins, unique=uniques)
def test_a_made_id_satisfies_binance_and_fits_32_characters(sub: str, origin: OrderOrigin, unique: str) -> None:
    client_id = client_id_make(sub, origin, unique)

    assert BINANCE_CHARSET.fullmatch(client_id)
    assert len(client_id) <= 32
    assert client_id == f"PMS{sub}_{origin.value}_{unique}"


@settings(max_examples=300, deadline=None)
@given(number=st.integers(min_value=0, max_value=2**64 - 1))
def test_base62_fits_a_64_bit_number_in_11_characters_and_decodes_back(number: int) -> None:
    text = encode_base62(number)

    assert 1 <= len(text) <= 11
    assert decode_base62(text) == number


def test_base62_writes_zero_as_one_digit() -> None:
    assert encode_base62(0) == "0"


def test_base62_uses_digits_then_upper_then_lower_case() -> None:
    assert [encode_base62(n) for n in (9, 10, 35, 36, 61, 62)] == ["9", "A", "Z", "a", "z", "10"]


def test_base62_refuses_a_negative_number() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        encode_base62(-1)


@settings(max_examples=100, deadline=None)
@given(sub=sub_codes, origin=origins, number=st.integers(min_value=0, max_value=2**64 - 1))
def test_an_id_with_a_base62_unique_part_is_valid(sub: str, origin: OrderOrigin, number: int) -> None:
    client_id = client_id_make(sub, origin, encode_base62(number))

    assert OURS.fullmatch(client_id)
    assert len(client_id) <= 32


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=40))
def test_random_text_is_not_taken_for_one_of_our_ids(text: str) -> None:
    assume(not OURS.fullmatch(text))

    assert client_id_parse(text) is None


@settings(max_examples=300, deadline=None)
@given(text=st.from_regex(OURS, fullmatch=True))
def test_any_text_in_our_format_parses_and_prints_back_unchanged(text: str) -> None:
    parsed = client_id_parse(text)

    assert parsed is not None
    assert str(parsed) == text


@settings(max_examples=300, deadline=None)
@given(sub=sub_codes, origin=origins, unique=uniques, suffix=st.sampled_from(["\n", " ", "\r\n", "_", "-", ".", "é"]))
def test_an_id_with_anything_appended_is_refused(sub: str, origin: OrderOrigin, unique: str, suffix: str) -> None:
    assert client_id_parse(client_id_make(sub, origin, unique) + suffix) is None


@pytest.mark.parametrize(
    "foreign_id",
    [
        "autoclose-123",
        "x-cvBPrNm9abc",
        "web_8f3c2a1b9d",
        "",
        "PMS",
        "PMSabcd1234_XYZ_abc",  # unknown type code
        "PMSabcd1234_mkt_abc",  # type code in lower case
        "PMSabcd1234_MK_abc",  # type code too short
        "PMSabcd1234_MKTT_abc",  # type code too long
        "PMSabcd123_MKT_abc",  # sub code too short
        "PMSabcd12345_MKT_abc",  # sub code too long
        "PMSABCD1234_MKT_abc",  # sub code in upper case
        "PMSabcd-234_MKT_abc",  # sub code with a dash
        "PMSabcd1234_MKT_",  # empty id part
        "PMSabcd1234_MKT_abc-def",  # dash in the id part
        "PMSabcd1234_MKT_0123456789ABCDEFG",  # id part of 17: 33 characters
        "pmsabcd1234_MKT_abc",  # prefix in lower case
        "XPMSabcd1234_MKT_abc",  # leading junk
        "PMSabcd1234_MKT_abc\n",  # trailing newline
        " PMSabcd1234_MKT_abc",
    ],
)
def test_anything_not_in_our_format_parses_to_none(foreign_id: str) -> None:
    assert client_id_parse(foreign_id) is None
    assert not client_id_is_ours(foreign_id)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(max_size=40), st.from_regex(OURS, fullmatch=True),
                      st.from_regex(r"PMS[a-z0-9]{8}_[A-Z]{3}_[A-Za-z0-9]{1,16}", fullmatch=True)))
def test_is_ours_says_exactly_what_parsing_says(text: str) -> None:
    assert client_id_is_ours(text) == (client_id_parse(text) is not None)


def test_the_longest_id_is_exactly_32_characters() -> None:
    client_id = client_id_make("abcd1234", OrderOrigin.RCN, "0123456789ABCDEF")

    assert len(client_id) == 32
    assert client_id_parse(client_id) is not None


@pytest.mark.parametrize(
    "sub",
    ["abcd123", "abcd12345", "ABCD1234", "abcd-234", "abcd1234\n", ""],
)
def test_make_refuses_a_bad_sub_account_code(sub: str) -> None:
    with pytest.raises(ValueError, match="sub-account code"):
        client_id_make(sub, OrderOrigin.MKT, "abc")


@pytest.mark.parametrize("unique", ["", "0123456789ABCDEFG", "abc-def", "abc_def", "abc\n", "é"])
def test_make_refuses_a_bad_id_part(unique: str) -> None:
    with pytest.raises(ValueError, match="id part"):
        client_id_make("abcd1234", OrderOrigin.MKT, unique)

