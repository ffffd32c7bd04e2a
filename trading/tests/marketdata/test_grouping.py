"""Grouping symbols into connections: ≤100 symbols (200 streams) each, stable as demand changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trading.marketdata.grouping import assign_groups, normalise_symbol

syms = st.sets(st.from_regex(r"[A-Z]{3,6}USDT", fullmatch=True), max_size=300)


def test_a_250_symbol_demand_splits_into_three_connections_of_at_most_100_symbols():
    groups = assign_groups([], [f"S{i:03d}USDT" for i in range(250)])
    assert [len(g) for g in groups] == [100, 100, 50]
    assert set().union(*groups) == {f"S{i:03d}USDT" for i in range(250)}


def test_a_new_symbol_joins_a_group_with_room_and_leaves_the_full_ones_alone():
    before = assign_groups([], [f"S{i:03d}USDT" for i in range(150)])
    after = assign_groups(before, [*before[0], *before[1], "NEWUSDT"])
    assert after[0] == before[0]
    assert after[1] == before[1] | {"NEWUSDT"}


def test_a_symbol_no_longer_wanted_leaves_only_its_own_group():
    before = assign_groups([], [f"S{i:03d}USDT" for i in range(150)])
    gone = next(iter(before[1]))
    after = assign_groups(before, set().union(*before) - {gone})
    assert after == [before[0], before[1] - {gone}]


@given(st.lists(syms, min_size=1, max_size=5))
def test_every_wanted_symbol_is_in_exactly_one_group_of_at_most_100(demands):
    groups: list[frozenset[str]] = []
    for wanted in demands:
        groups = [g for g in assign_groups(groups, wanted) if g]
        assert all(len(g) <= 100 for g in groups)
        assert sum(len(g) for g in groups) == len(wanted)
        assert set().union(*groups) == wanted


def test_symbols_are_normalised_and_junk_is_refused():
    assert normalise_symbol(" btcusdt ") == "BTCUSDT"
    assert [normalise_symbol(x) for x in ("BTC/USDT", "", None, 5, "X" * 30)] == [None] * 5
