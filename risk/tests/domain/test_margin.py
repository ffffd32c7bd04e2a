"""Margin ratio and liquidation prices against an independent derivation of Binance's cross-margin rule."""

from __future__ import annotations

from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from risk.domain.margin import (
    Bracket,
    PositionInput,
    account_liquidation_move,
    account_margin,
    brackets_consistent,
    liquidation_price,
    maintenance_margin,
)

D = Decimal
TOLERANCE = D("1e-8")

BTC = (
    Bracket(D(0), D(50000), 125, D("0.004"), D(0)),
    Bracket(D(50000), D(250000), 100, D("0.005"), D(50)),
    Bracket(D(250000), D(3000000), 50, D("0.01"), D(1300)),
)


@st.composite
def bracket_tables(draw: st.DrawFn) -> tuple[Bracket, ...]:
    """Random but Binance-shaped tables: rising caps and rates, cum continuous at every floor."""
    count = draw(st.integers(1, 6))
    caps = sorted(set(draw(st.lists(st.integers(1_000, 50_000_000), min_size=count, max_size=count, unique=True))))
    rates = sorted(draw(st.lists(st.decimals("0.001", "0.3", places=4), min_size=len(caps), max_size=len(caps))))
    tiers: list[Bracket] = []
    floor, cum, previous_rate = D(0), D(0), D(0)
    for index, (cap, rate) in enumerate(zip(caps, rates, strict=True)):
        cum = cum + floor * (rate - previous_rate)
        tiers.append(Bracket(floor, D(cap), max(1, 125 - 20 * index), rate, cum))
        floor, previous_rate = D(cap), rate
    return tuple(tiers)


def tier_of(table: tuple[Bracket, ...], value: Decimal) -> Bracket:
    chosen = table[-1]
    for tier in reversed(table):
        if tier.notional_floor <= value:
            chosen = tier
            break
    return chosen


def maint_independent(table: tuple[Bracket, ...], value: Decimal) -> Decimal:
    tier = tier_of(table, value)
    return value * tier.maint_margin_ratio - tier.cum


def relative_close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b), D(1))


def solve_liquidation(q: Decimal, entry: Decimal, table: tuple[Bracket, ...], others: Decimal) -> Decimal | None:
    """The price where this position's margin balance equals its maintenance margin, by bisection."""
    with localcontext() as ctx:
        ctx.prec = 60

        def surplus(price: Decimal) -> Decimal:  # margin balance - maintenance margin
            return others + q * (price - entry) - maint_independent(table, abs(q) * price)

        low, high = D(0), entry
        if q > 0:
            if surplus(D(0)) >= 0:
                return None  # even at zero the account covers it
            while surplus(high) <= 0:
                high *= 2
        else:
            if surplus(D(0)) <= 0:
                return None
            while surplus(high) >= 0:
                high *= 2
        for _ in range(220):
            middle = (low + high) / 2
            if (surplus(middle) < 0) == (q > 0):
                low = middle
            else:
                high = middle
        return (low + high) / 2


quantities = st.decimals("0.001", "200", places=3).flatmap(lambda q: st.sampled_from([q, -q]))
prices = st.decimals("1", "100000", places=2)
moves = st.decimals("-0.5", "0.5", places=4)


@settings(max_examples=300, deadline=None)
@given(table=bracket_tables(), other_table=bracket_tables(), q=quantities, entry=prices, move=moves,
       q2=quantities, entry2=prices, move2=moves, wallet=st.decimals("0", "2000000", places=2))
def test_margin_ratio_and_liquidation_price_follow_binances_rule(
        table, other_table, q, entry, move, q2, entry2, move2, wallet):
    mark, mark2 = entry * (1 + move), entry2 * (1 + move2)
    positions = [PositionInput("AAAUSDT", q, entry, mark), PositionInput("BBBUSDT", q2, entry2, mark2)]
    result = account_margin(wallet_balance=wallet, positions=positions,
                            brackets={"AAAUSDT": table, "BBBUSDT": other_table})

    mm_a, mm_b = maint_independent(table, abs(q) * mark), maint_independent(other_table, abs(q2) * mark2)
    balance = wallet + q * (mark - entry) + q2 * (mark2 - entry2)
    assert relative_close(result.maint_margin, mm_a + mm_b)
    if balance > 0:
        assert relative_close(result.margin_ratio, (mm_a + mm_b) / balance)
    others = wallet + q2 * (mark2 - entry2) - mm_b
    expected = solve_liquidation(q, entry, table, others)
    got = result.positions[0].liquidation_price
    assert (got is None) == (expected is None), (got, expected)
    if got is not None and expected is not None:
        assert relative_close(got, expected), (got, expected)


@settings(max_examples=200, deadline=None)
@given(table=bracket_tables(), q=quantities, entry=prices, move=moves, wallet=st.decimals("0", "2000000", places=2))
def test_a_one_symbol_accounts_liquidation_move_lands_on_the_position_liquidation_price(table, q, entry, move,
                                                                                          wallet):
    mark = entry * (1 + move)
    position = PositionInput("AAAUSDT", q, entry, mark)
    price = liquidation_price(quantity=q, entry_price=entry, brackets=table, others=wallet)
    fall, rise = account_liquidation_move(wallet_balance=wallet, positions=[position], brackets={"AAAUSDT": table})
    move_found = fall if q > 0 else rise
    if price is None or (q > 0 and price > mark) or (q < 0 and price < mark):
        return  # no liquidation, or already past it: the move is on the other side
    assert move_found is not None
    assert relative_close(mark * (1 + move_found), price)


def test_generated_tables_are_continuous_like_binances():
    assert brackets_consistent(BTC) is None
    broken = (BTC[0], Bracket(D(50000), D(250000), 100, D("0.005"), D(51)))
    assert "continuity" in (brackets_consistent(broken) or "")


def test_maintenance_margin_uses_the_tier_of_the_notional():
    assert maintenance_margin(BTC, D(60000)) == D(60000) * D("0.005") - D(50)
    assert maintenance_margin(BTC, D(-40000)) == D(40000) * D("0.004")


def test_a_long_the_rest_of_the_account_covers_has_no_liquidation_price():
    assert liquidation_price(quantity=D(1), entry_price=D(100), brackets=BTC, others=D(1000)) is None


def test_a_long_with_a_thin_wallet_liquidates_just_below_its_entry():
    # 1 BTC at 60,000 with 3,000 USDT: LP = (3000 + 0 - 60000) / (1 x 0.005 - 1) in the second tier
    price = liquidation_price(quantity=D(1), entry_price=D(60000), brackets=BTC, others=D(3000))
    assert price == (D(3000) + D(50) - D(60000)) / (D("0.005") - 1)
