"""Progressive auto-deleverage of one sub-account: which tier its margin ratio is in and what to close."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class AdlTier:
    level: int
    margin_ratio: Decimal  # at or above this ratio
    close_fraction: Decimal  # of the largest position; 1 closes every position


ADL_TIERS: tuple[AdlTier, ...] = (
    AdlTier(1, Decimal("0.90"), Decimal("0.30")),
    AdlTier(2, Decimal("0.925"), Decimal("0.50")),
    AdlTier(3, Decimal("0.95"), Decimal(1)),
)
DEFAULT_COOLDOWN_MS = 5_000


def adl_tier(ratio: Decimal, tiers: tuple[AdlTier, ...] = ADL_TIERS) -> AdlTier | None:
    """The highest tier the margin ratio reaches, or None below the first."""
    reached = None
    for tier in tiers:
        if ratio >= tier.margin_ratio:
            reached = tier
    return reached


@dataclass(frozen=True, slots=True)
class AdlMemory:
    """The last step taken for a sub-account."""

    level: int
    at_ms: int


@dataclass(frozen=True, slots=True)
class Reduction:
    symbol: str
    quantity: Decimal  # positive; the side reduces the position
    closes_position: bool


@dataclass(frozen=True, slots=True)
class AdlStep:
    tier: AdlTier
    margin_ratio: Decimal
    reductions: tuple[Reduction, ...]
    reason: str


def adl_decide(*, ratio: Decimal, positions: dict[str, tuple[Decimal, Decimal]], step_sizes: dict[str, Decimal],
               last: AdlMemory | None, now_ms: int, cooldown_ms: int = DEFAULT_COOLDOWN_MS,
               tiers: tuple[AdlTier, ...] = ADL_TIERS) -> AdlStep | None:
    """What to close now. positions: symbol -> (signed quantity, notional at mark).

    A step repeats its tier only after the cooldown (so its orders fill and the ratio is re-read);
    escalation to a higher tier than the last step is never delayed.
    """
    tier = adl_tier(ratio, tiers)
    open_positions = {s: v for s, v in positions.items() if v[0]}
    if tier is None or not open_positions:
        return None
    if last is not None and tier.level <= last.level and now_ms - last.at_ms < cooldown_ms:
        return None
    if tier.close_fraction >= 1:
        reductions = tuple(Reduction(symbol, abs(qty), True) for symbol, (qty, _) in sorted(open_positions.items()))
        what = "every position"
    else:
        symbol, (qty, _) = max(open_positions.items(), key=lambda item: (item[1][1], item[0]))
        quantity = partial_quantity(abs(qty), tier.close_fraction, step_sizes.get(symbol))
        reductions = (Reduction(symbol, quantity, quantity == abs(qty)),)
        what = f"{tier.close_fraction:.0%} of the largest position ({symbol})"
    return AdlStep(tier, ratio, reductions,
                   f"margin ratio {ratio:.4f} reached ADL tier {tier.level} (≥ {tier.margin_ratio}): closing {what}")


def partial_quantity(size: Decimal, fraction: Decimal, step: Decimal | None) -> Decimal:
    """fraction x size rounded down to the step, at least one step, never more than the position."""
    wanted = size * fraction
    if step is None or step <= 0:
        return wanted
    rounded = (wanted / step).to_integral_value(rounding=ROUND_DOWN) * step
    return min(size, max(rounded, step))
