"""Cross margin within one sub-account (one-way mode): Binance's brackets, margin ratio, liquidation prices.

Binance USD-M: maintenance margin = |notional| x maintMarginRatio - cum of the position's bracket;
margin balance = wallet balance + unrealized PnL; margin ratio = maintenance margin / margin balance
(liquidation at 1). Cross liquidation price of position 1 (Binance's published formula):
    LP = (WB - TMM1 + UPNL1 + cum1 - side1 x |q1| x EP1) / (|q1| x MMR1 - side1 x |q1|)
with TMM1 / UPNL1 the maintenance margin / unrealized PnL of the *other* positions, held at their marks.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

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


@dataclass(frozen=True, slots=True)
class PositionMargin:
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
    """
    if not quantity:
        return None
    size = abs(quantity)
    side = 1 if quantity > 0 else -1
    last = brackets[-1]
    if hint is not None:  # usually the liquidation notional is in the tier the position is in now
        price = _candidate(hint, size, side, entry_price, others, last)
        if price is not None:
            return price
    for tier in brackets:
        if tier is not hint:
            price = _candidate(tier, size, side, entry_price, others, last)
            if price is not None:
                return price
    return None


def _candidate(tier: Bracket, size: Decimal, side: int, entry: Decimal, others: Decimal,
               last: Bracket) -> Decimal | None:
    price = (others + tier.cum - side * size * entry) / (size * tier.maint_margin_ratio - side * size)
    if price <= 0:
        return None
    value = size * price
    if value >= tier.notional_floor and (value < tier.notional_cap or tier is last):
        return price
    return None


def account_margin(*, wallet_balance: Decimal, positions: Sequence[PositionInput],
                   brackets: Mapping[str, Brackets]) -> AccountMargin:
    """Every figure of a cross-margined sub-account at the given marks."""
    upnls: list[Decimal] = []
    maints: list[Decimal] = []
    tiers: list[Bracket] = []
    upnl_total = maint_total = initial_total = notional_total = ZERO
    for item in positions:
        notional = abs(item.quantity) * item.mark_price
        upnl = (item.mark_price - item.entry_price) * item.quantity
        tier = bracket_for(brackets[item.symbol], notional)
        maint = notional * tier.maint_margin_ratio - tier.cum if item.quantity else ZERO
        tiers.append(tier)
        upnls.append(upnl)
        maints.append(maint)
        upnl_total += upnl
        maint_total += maint
        initial_total += notional / item.leverage
        notional_total += notional
    margin_balance = wallet_balance + upnl_total
    views = []
    for item, upnl, maint, tier in zip(positions, upnls, maints, tiers, strict=True):
        others = wallet_balance + (upnl_total - upnl) - (maint_total - maint)
        notional = abs(item.quantity) * item.mark_price
        views.append(PositionMargin(
            symbol=item.symbol, quantity=item.quantity, entry_price=item.entry_price, mark_price=item.mark_price,
            notional=notional, unrealized_pnl=upnl, leverage=item.leverage,
            initial_margin=notional / item.leverage, maint_margin=maint,
            liquidation_price=liquidation_price(quantity=item.quantity, entry_price=item.entry_price,
                                                brackets=brackets[item.symbol], others=others, hint=tier)))
    return AccountMargin(
        wallet_balance=wallet_balance, unrealized_pnl=upnl_total, margin_balance=margin_balance,
        initial_margin=initial_total, maint_margin=maint_total,
        margin_ratio=margin_ratio(maint_total, margin_balance),
        available_balance=margin_balance - initial_total, total_notional=notional_total, positions=tuple(views))


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
