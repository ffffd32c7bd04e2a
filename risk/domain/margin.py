"""Cross margin within one sub-account (one-way mode): Binance's brackets, margin ratio, liquidation prices.

Binance USD-M: maintenance margin = |notional| x maintMarginRatio - cum of the position's bracket;
margin balance = wallet balance + unrealized PnL; margin ratio = maintenance margin / margin balance
(liquidation at 1). Cross liquidation price of position 1 (Binance's published formula):
    LP = (WB - TMM1 + UPNL1 + cum1 - side1 x |q1| x EP1) / (|q1| x MMR1 - side1 x |q1|)
with TMM1 / UPNL1 the maintenance margin / unrealized PnL of the *other* positions, held at their marks.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

ZERO = Decimal(0)
INFINITY = Decimal("Infinity")
DEFAULT_LEVERAGE = 20  # Binance's initial leverage for a symbol nobody set


@dataclass(frozen=True, slots=True)
class Bracket:
    """One tier of GET /fapi/v1/leverageBracket: notional in [notional_floor, notional_cap)."""

    notional_floor: Decimal
    notional_cap: Decimal
    max_leverage: int
    maint_margin_ratio: Decimal
    cum: Decimal

    def __post_init__(self) -> None:
        if not ZERO <= self.maint_margin_ratio < 1:
            raise ValueError(f"maintenance margin ratio must be in [0, 1), got {self.maint_margin_ratio}")
        if self.notional_cap <= self.notional_floor:
            raise ValueError(f"bracket cap {self.notional_cap} must be above its floor {self.notional_floor}")
        if self.max_leverage < 1:
            raise ValueError(f"bracket leverage must be at least 1, got {self.max_leverage}")


Brackets = Sequence[Bracket]


def bracket_for(brackets: Brackets, notional: Decimal) -> Bracket:
    """The tier holding |notional|; the last tier beyond the top cap."""
    size = abs(notional)
    for tier in brackets:
        if size < tier.notional_cap:
            return tier
    return brackets[-1]


def maintenance_margin(brackets: Brackets, notional: Decimal) -> Decimal:
    if not notional:
        return ZERO
    tier = bracket_for(brackets, notional)
    return abs(notional) * tier.maint_margin_ratio - tier.cum


def brackets_consistent(brackets: Brackets, *, check_cum: bool = True) -> str | None:
    """Why a table is unusable (gaps, overlaps, and with check_cum a cum that is not continuous), or None."""
    if not brackets:
        return "no brackets"
    if brackets[0].notional_floor != 0:
        return "the first bracket must start at 0"
    for previous, tier in itertools.pairwise(brackets):
        if tier.notional_floor != previous.notional_cap:
            return f"bracket starting at {tier.notional_floor} does not follow the cap {previous.notional_cap}"
        expected = previous.cum + tier.notional_floor * (tier.maint_margin_ratio - previous.maint_margin_ratio)
        if check_cum and tier.cum != expected:
            return f"bracket starting at {tier.notional_floor} has cum {tier.cum}, continuity needs {expected}"
    return None


@dataclass(frozen=True, slots=True)
class PositionInput:
    symbol: str
    quantity: Decimal  # signed, long > 0
    entry_price: Decimal
    mark_price: Decimal
    leverage: int = DEFAULT_LEVERAGE


class PositionMargin(NamedTuple):
    """One position's figures (a named tuple: immutable like the dataclasses, and built twice as fast, which
    counts at 1,000 sub-accounts x 5 positions per snapshot flush)."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    mark_price: Decimal
    notional: Decimal  # |quantity| x mark
    unrealized_pnl: Decimal
    leverage: int
    initial_margin: Decimal
    maint_margin: Decimal
    liquidation_price: Decimal | None  # None: no price liquidates it (a long the rest of the account covers)


@dataclass(frozen=True, slots=True)
class AccountMargin:
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    initial_margin: Decimal
    maint_margin: Decimal
    margin_ratio: Decimal  # Infinity once the margin balance is gone with positions open
    available_balance: Decimal
    total_notional: Decimal
    positions: tuple[PositionMargin, ...]

    @property
    def largest_position(self) -> PositionMargin | None:
        open_positions = [p for p in self.positions if p.quantity]
        return max(open_positions, key=lambda p: (p.notional, p.symbol)) if open_positions else None


def margin_ratio(maint: Decimal, margin_balance: Decimal) -> Decimal:
    if margin_balance <= 0:
        return INFINITY if maint > 0 else ZERO
    return maint / margin_balance


def liquidation_price(*, quantity: Decimal, entry_price: Decimal, brackets: Brackets, others: Decimal,
                      hint: Bracket | None = None) -> Decimal | None:
    """Binance's cross liquidation price of one position; `others` = WB + UPNL1 - TMM1 of the rest.

    The bracket is the one the position's notional has *at the liquidation price* (Binance's formula
    with that tier's rate and cum); a tier whose candidate falls outside it is not the answer.
    The search starts at `hint` (usually the tier the position is in now) and walks towards the
    candidate: with Binance's continuous cum the surplus (margin balance - maintenance) is concave and
    monotone in the price, so each tier's line lies above it and a candidate below a tier's floor means
    the answer is in a lower tier, at or above its cap in a higher one. Tiers the walk did not try are
    scanned after it (tables whose cum is not continuous), so the answer never depends on the walk.
    """
    if not quantity:
        return None
    size = abs(quantity)
    side = 1 if quantity > 0 else -1
    last = brackets[-1]
    tried: list[int] = []
    price = _walk(brackets, size, side, entry_price, others, hint, tried)
    if price is not None:
        return price
    if cum_continuous(brackets):
        return None  # the walk left the table below its first tier: no positive price liquidates it
    for position, tier in enumerate(brackets):
        if position not in tried:
            price = _candidate(tier, size, side, entry_price, others, last)
            if price is not None:
                return price
    return None


def _walk(brackets: Brackets, size: Decimal, side: int, entry: Decimal, others: Decimal, hint: Bracket | None,
          tried: list[int]) -> Decimal | None:
    count, last = len(brackets), brackets[-1]
    index = next((i for i, tier in enumerate(brackets) if tier is hint), 0) if hint is not None else 0
    while 0 <= index < count and index not in tried:
        tried.append(index)
        tier = brackets[index]
        price = (others + tier.cum - side * size * entry) / (size * tier.maint_margin_ratio - side * size)
        value = size * price
        if price > 0 and value >= tier.notional_floor and (value < tier.notional_cap or tier is last):
            return price
        index = index - 1 if price <= 0 or value < tier.notional_floor else index + 1
    return None


_CONTINUITY: dict[int, tuple[Brackets, bool]] = {}


def cum_continuous(brackets: Brackets) -> bool:
    """Whether the table's cum is Binance's continuous one (memoised per table object: tables are loaded once)."""
    known = _CONTINUITY.get(id(brackets))
    if known is not None and known[0] is brackets:  # the table is held, so its id is not reused meanwhile
        return known[1]
    if len(_CONTINUITY) > 4096:
        _CONTINUITY.clear()
    flag = brackets_consistent(brackets) is None
    _CONTINUITY[id(brackets)] = (brackets, flag)
    return flag


def _candidate(tier: Bracket, size: Decimal, side: int, entry: Decimal, others: Decimal,
               last: Bracket) -> Decimal | None:
    price = (others + tier.cum - side * size * entry) / (size * tier.maint_margin_ratio - side * size)
    if price <= 0:
        return None
    value = size * price
    if value >= tier.notional_floor and (value < tier.notional_cap or tier is last):
        return price
    return None


class PositionFigures:
    """One position's figures at its mark (mutable, reused by MarginBook: a tick recomputes only its symbol)."""

    __slots__ = ("_lines", "brackets", "entry_price", "initial", "leverage", "maint", "mark_price", "notional",
                 "quantity", "symbol", "tier", "tier_index", "upnl")

    def __init__(self, symbol: str, quantity: Decimal, entry_price: Decimal, mark_price: Decimal, leverage: int,
                 brackets: Brackets) -> None:
        self.symbol, self.brackets = symbol, brackets
        self.quantity, self.entry_price, self.leverage = quantity, entry_price, leverage
        self._lines: list[tuple[Decimal, Decimal, Decimal, Decimal, bool]] | None = None
        self.reprice(mark_price)

    def liquidation_price(self, others: Decimal) -> Decimal | None:
        """liquidation_price() for this position, with what does not move with the marks worked out once:
        per tier, price = (others + cum - side x size x entry) / (size x mmr - side x size)."""
        if not self.quantity:
            return None
        lines = self._lines
        if lines is None:
            size = abs(self.quantity)
            side = 1 if self.quantity > 0 else -1
            offset = side * size * self.entry_price
            last = self.brackets[-1]
            lines = self._lines = [(tier.cum - offset, size * tier.maint_margin_ratio - side * size,
                                    tier.notional_floor, tier.notional_cap, tier is last) for tier in self.brackets]
        size = abs(self.quantity)
        index, count = self.tier_index, len(lines)
        for _ in range(count):  # the walk of liquidation_price(), at most once through the table
            if not 0 <= index < count:
                break
            numerator, denominator, floor, cap, is_last = lines[index]
            price = (others + numerator) / denominator
            value = size * price
            if price > 0 and value >= floor and (value < cap or is_last):
                return price
            index = index - 1 if price <= 0 or value < floor else index + 1
        if cum_continuous(self.brackets):
            return None
        return liquidation_price(quantity=self.quantity, entry_price=self.entry_price, brackets=self.brackets,
                                 others=others)

    def reprice(self, mark_price: Decimal) -> None:
        self.mark_price = mark_price
        notional = abs(self.quantity) * mark_price
        brackets = self.brackets
        index = len(brackets) - 1
        for position, candidate in enumerate(brackets):  # bracket_for, inlined: every held symbol, every tick
            if notional < candidate.notional_cap:
                index = position
                break
        tier = brackets[index]
        self.notional, self.tier, self.tier_index = notional, tier, index
        self.upnl = (mark_price - self.entry_price) * self.quantity
        self.maint = notional * tier.maint_margin_ratio - tier.cum if self.quantity else ZERO
        self.initial = notional / self.leverage


def account_margin(*, wallet_balance: Decimal, positions: Sequence[PositionInput],
                   brackets: Mapping[str, Brackets]) -> AccountMargin:
    """Every figure of a cross-margined sub-account at the given marks."""
    rows = [PositionFigures(p.symbol, p.quantity, p.entry_price, p.mark_price, p.leverage, brackets[p.symbol])
            for p in positions]
    return account_from_figures(wallet_balance, rows)


class MarginTotals(NamedTuple):
    """What decides anything (ADL, breakers): the account's figures without liquidation prices (a named tuple:
    one is built per sub-account on every tick)."""

    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    initial_margin: Decimal
    maint_margin: Decimal
    margin_ratio: Decimal
    total_notional: Decimal


def totals_from_figures(wallet_balance: Decimal, rows: Sequence[PositionFigures]) -> MarginTotals:
    upnl_total = maint_total = initial_total = notional_total = ZERO
    for row in rows:
        upnl_total += row.upnl
        maint_total += row.maint
        initial_total += row.initial
        notional_total += row.notional
    margin_balance = wallet_balance + upnl_total
    return MarginTotals(wallet_balance, upnl_total, margin_balance, initial_total, maint_total,
                        margin_ratio(maint_total, margin_balance), notional_total)


def account_from_figures(wallet_balance: Decimal, rows: Sequence[PositionFigures],
                         totals: MarginTotals | None = None) -> AccountMargin:
    """The full figures, liquidation prices included (Binance's formula with the rest held at their marks)."""
    if totals is None:
        totals = totals_from_figures(wallet_balance, rows)
    upnl_total, maint_total = totals.unrealized_pnl, totals.maint_margin
    views = []
    for row in rows:
        others = wallet_balance + (upnl_total - row.upnl) - (maint_total - row.maint)
        views.append(PositionMargin(
            row.symbol, row.quantity, row.entry_price, row.mark_price, row.notional, row.upnl, row.leverage,
            row.initial, row.maint, row.liquidation_price(others)))
    return AccountMargin(
        wallet_balance=wallet_balance, unrealized_pnl=upnl_total, margin_balance=totals.margin_balance,
        initial_margin=totals.initial_margin, maint_margin=maint_total, margin_ratio=totals.margin_ratio,
        available_balance=totals.margin_balance - totals.initial_margin, total_notional=totals.total_notional,
        positions=tuple(views))


class MarginBook:
    """One sub-account's cross margin kept current position by position.

    A tick reprices the positions whose mark moved and re-sums four numbers; the liquidation prices
    (which decide nothing) are computed only when the full figures are asked for (snapshots). The
    figures are those account_margin computes from scratch: same functions, same order.
    """

    __slots__ = ("_rows", "_totals", "brackets", "wallet")

    def __init__(self, brackets: Mapping[str, Brackets], wallet: Decimal = ZERO) -> None:
        self.brackets = brackets
        self.wallet = wallet
        self._rows: dict[str, PositionFigures] = {}
        self._totals: MarginTotals | None = None

    def set_wallet(self, wallet: Decimal) -> None:
        if wallet != self.wallet:
            self.wallet, self._totals = wallet, None

    def set_position(self, symbol: str, quantity: Decimal, entry_price: Decimal, mark_price: Decimal,
                     leverage: int) -> None:
        """A position changed (fill, load); a zero quantity removes it."""
        self._totals = None
        if not quantity:
            self._rows.pop(symbol, None)
            return
        self._rows[symbol] = PositionFigures(symbol, quantity, entry_price, mark_price, leverage,
                                             self.brackets[symbol])

    def set_leverage(self, leverage_of: Callable[[str], int]) -> None:
        for row in self._rows.values():
            leverage = leverage_of(row.symbol)
            if leverage != row.leverage:
                row.leverage, self._totals = leverage, None
                row.reprice(row.mark_price)

    def sync_marks(self, marks: Mapping[str, Decimal]) -> None:
        """Reprice the positions whose mark moved since the last look (a symbol with no mark keeps its last)."""
        for symbol, row in self._rows.items():
            mark = marks.get(symbol)
            if mark is not None and mark is not row.mark_price and mark != row.mark_price:
                row.reprice(mark)
                self._totals = None

    @property
    def rows(self) -> tuple[PositionFigures, ...]:
        return tuple(self._rows.values())

    def totals(self) -> MarginTotals:
        if self._totals is None:
            self._totals = totals_from_figures(self.wallet, list(self._rows.values()))
        return self._totals

    def account(self) -> AccountMargin:
        return account_from_figures(self.wallet, list(self._rows.values()), self.totals())


def account_liquidation_move(*, wallet_balance: Decimal, positions: Sequence[PositionInput],
                             brackets: Mapping[str, Brackets]) -> tuple[Decimal | None, Decimal | None]:
    """The account's liquidation point as a uniform move of every mark: (nearest fall, nearest rise).

    With all marks scaled by (1 + x), margin balance and maintenance margin are linear in x between
    the points where a position changes bracket; each piece is solved exactly (Binance's formula over
    the whole account). A fall is in (-1, 0], a rise > 0; None where no such move liquidates.
    For a one-symbol account, mark x (1 + x) is that position's liquidation price.
    """
    held = [p for p in positions if p.quantity]
    if not held:
        return None, None
    cuts = {Decimal(-1)}
    for p in held:
        base = abs(p.quantity) * p.mark_price
        for tier in brackets[p.symbol]:
            for edge in (tier.notional_floor, tier.notional_cap):
                if edge > 0:
                    cuts.add(edge / base - 1)
    points = sorted(c for c in cuts if c >= -1)
    segments = list(zip(points, [*points[1:], INFINITY], strict=True))
    roots = [root for lo, hi in segments if (root := _segment_root(wallet_balance, held, brackets, lo, hi))
             is not None]
    falls = [r for r in roots if r <= 0]
    rises = [r for r in roots if r > 0]
    return (max(falls) if falls else None), (min(rises) if rises else None)


def _segment_root(wallet: Decimal, held: Sequence[PositionInput], brackets: Mapping[str, Brackets],
                  lo: Decimal, hi: Decimal) -> Decimal | None:
    probe = lo + 1 if hi == INFINITY else (lo + hi) / 2  # a point inside the piece fixes every tier
    equity0 = wallet  # margin balance at x: equity0 + x * slope_equity
    slope_equity = slope_maint = maint0 = ZERO
    for p in held:
        base = abs(p.quantity) * p.mark_price
        tier = bracket_for(brackets[p.symbol], base * (1 + probe))
        equity0 += (p.mark_price - p.entry_price) * p.quantity
        slope_equity += p.quantity * p.mark_price
        maint0 += base * tier.maint_margin_ratio - tier.cum
        slope_maint += base * tier.maint_margin_ratio
    denominator = slope_equity - slope_maint
    if denominator == 0:
        return None
    root = (maint0 - equity0) / denominator
    if root < lo or root >= hi or root <= -1:
        return None
    return root
