"""The incremental MarginBook and the fast liquidation walk give exactly what the from-scratch maths gives."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from risk.domain.margin import (
    Bracket,
    MarginBook,
    PositionFigures,
    PositionInput,
    account_margin,
    liquidation_price,
)
from risk.tests.domain.test_margin import bracket_tables, prices, quantities

D = Decimal
SYMBOLS = ("AAAUSDT", "BBBUSDT", "CCCUSDT")

updates = st.lists(st.one_of(
    st.tuples(st.just("position"), st.sampled_from(SYMBOLS), st.one_of(st.just(D(0)), quantities), prices,
              st.integers(1, 50)),
    st.tuples(st.just("mark"), st.sampled_from(SYMBOLS), prices),
    st.tuples(st.just("wallet"), st.decimals("0", "500000", places=2)),
), min_size=1, max_size=25)


@settings(max_examples=150, deadline=None)
@given(tables=st.tuples(bracket_tables(), bracket_tables(), bracket_tables()), steps=updates)
def test_the_book_after_any_updates_equals_the_account_computed_from_scratch(tables, steps):
    brackets = dict(zip(SYMBOLS, tables, strict=True))
    book = MarginBook(brackets, D(10000))
    marks = dict.fromkeys(SYMBOLS, D(100))
    held: dict[str, tuple[Decimal, Decimal, int]] = {}
    wallet = D(10000)
    for step in steps:
        if step[0] == "position":
            _, symbol, quantity, entry, leverage = step
            book.set_position(symbol, quantity, entry, marks[symbol], leverage)
            if quantity:
                held[symbol] = (quantity, entry, leverage)
            else:
                held.pop(symbol, None)
        elif step[0] == "mark":
            marks[step[1]] = step[2]
            book.sync_marks(marks)
        else:
            wallet = step[1]
            book.set_wallet(wallet)
        expected = account_margin(wallet_balance=wallet, brackets=brackets, positions=[
            PositionInput(symbol, quantity, entry, marks[symbol], leverage)
            for symbol, (quantity, entry, leverage) in held.items()])
        assert book.account() == expected
        assert book.totals().margin_ratio == expected.margin_ratio


@st.composite
def any_tables(draw: st.DrawFn) -> tuple[Bracket, ...]:
    """Binance-shaped tables whose cum may be off continuity (a venue's own numbers)."""
    table = draw(bracket_tables())
    return tuple(Bracket(t.notional_floor, t.notional_cap, t.max_leverage, t.maint_margin_ratio,
                         t.cum + draw(st.sampled_from([D(0), D(0), D(7), D("-3.5")])) if t.notional_floor else t.cum)
                 for t in table)


@settings(max_examples=300, deadline=None)
@given(table=any_tables(), q=quantities, entry=prices, mark=prices, others=st.decimals("-100000", "2000000", places=2))
def test_the_walk_from_the_current_tier_finds_the_scans_answer(table, q, entry, mark, others):
    row = PositionFigures("AAAUSDT", q, entry, mark, 10, table)
    scanned = None
    for tier in table:  # the plain definition: the first tier whose candidate lies in that tier
        size, side = abs(q), (1 if q > 0 else -1)
        price = (others + tier.cum - side * size * entry) / (size * tier.maint_margin_ratio - side * size)
        if price > 0 and size * price >= tier.notional_floor and (size * price < tier.notional_cap
                                                                  or tier is table[-1]):
            scanned = price
            break
    walked = row.liquidation_price(others)
    reference = liquidation_price(quantity=q, entry_price=entry, brackets=table, others=others, hint=row.tier)
    assert walked == reference
    if scanned is None:
        assert walked is None
    else:
        assert walked is not None
        if table == tuple(bracket_tables_continuous(table)):
            # one root when cum is continuous, whichever way it is found (two tiers may both hold it at a boundary)
            assert abs(walked - scanned) <= D("1e-20") * max(abs(scanned), D(1))


def bracket_tables_continuous(table: tuple[Bracket, ...]) -> list[Bracket]:
    rebuilt: list[Bracket] = []
    cum, previous = D(0), D(0)
    for tier in table:
        cum = cum + tier.notional_floor * (tier.maint_margin_ratio - previous)
        rebuilt.append(Bracket(tier.notional_floor, tier.notional_cap, tier.max_leverage, tier.maint_margin_ratio,
                               cum))
        previous = tier.maint_margin_ratio
    return rebuilt
