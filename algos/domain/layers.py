"""Scalper layers: exponential offsets, skewed sizes that sum exactly, fill backoff, fill rate and PnL EMA."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal

from core.money import ZERO, Rounding, is_multiple_of, round_to_tick
from trading.domain.instruments import InstrumentRules
from trading.domain.types import Side

from .twap import min_lot_steps

BPS = Decimal(10_000)
MAX_BACKOFF_FACTOR = 16
FILL_WINDOW_MS = 60_000
PNL_EMA_DECAY = Decimal("0.85")


def layer_offsets(base_offset: Decimal, layer_count: int, max_spread: Decimal) -> list[Decimal]:
    """offset_i = min(base_offset × 2^i, max_spread) for i = 0..layer_count-1, in basis points of the mid.

    Layers past the cap all sit at `max_spread`; that keeps the outer quotes inside the allowed spread.
    """
    if layer_count < 1:
        raise ValueError(f"need at least one layer, got {layer_count}")
    if base_offset <= 0 or max_spread <= 0:
        raise ValueError(f"base_offset and max_spread must be positive, got {base_offset} and {max_spread}")
    return [min(base_offset * 2**i, max_spread) for i in range(layer_count)]


def layer_prices(mid: Decimal, side: Side, offsets: Sequence[Decimal], tick_size: Decimal) -> list[Decimal]:
    """Quote prices: a buy below the mid (rounded down), a sell above (rounded up): never more aggressive."""
    if side is Side.BUY:
        return [round_to_tick(mid * (1 - offset / BPS), tick_size, Rounding.DOWN) for offset in offsets]
    return [round_to_tick(mid * (1 + offset / BPS), tick_size, Rounding.UP) for offset in offsets]


def skew_weights(layer_count: int, skew: Decimal) -> list[Decimal]:
    """w_i = 2 + skew × (2·i/(n−1) − 1), skew in [-1, 1]; layer 0 is closest to the mid.

    skew > 0 makes outer layers larger (up to 3× the inner one at skew 1), skew < 0 the inner ones,
    skew 0 all equal.
    """
    if not -1 <= skew <= 1:
        raise ValueError(f"skew must be within [-1, 1], got {skew}")
    if layer_count == 1:
        return [Decimal(1)]
    last = layer_count - 1
    return [2 + skew * (Decimal(2 * i) / last - 1) for i in range(layer_count)]


def _split_by_weight(total_steps: int, weights: Sequence[Decimal]) -> list[int]:
    total_weight = sum(weights, ZERO)
    shares = [int((total_steps * weight / total_weight).to_integral_value(rounding=ROUND_FLOOR)) for weight in weights]
    # the steps lost to flooring go to the heaviest layer (the innermost on a tie): deterministic
    heaviest = max(range(len(weights)), key=lambda i: (weights[i], -i))
    shares[heaviest] += total_steps - sum(shares)
    return shares


def layer_sizes(
    total: Decimal, layer_count: int, skew: Decimal, rules: InstrumentRules, reference_price: Decimal
) -> list[Decimal]:
    """Sizes per layer, each a step multiple meeting min qty and min notional, summing exactly to `total`.

    If some layer would fall below the minimum, the outermost layer is dropped and the total is split
    again over fewer layers (so the result can be shorter than `layer_count`; pair it with the first
    offsets). `total` must be a step multiple that makes at least one valid order, else ValueError.
    """
    if total <= 0 or not is_multiple_of(total, rules.step_size):
        raise ValueError(f"total {total} must be a positive multiple of the step size {rules.step_size}")
    total_steps = int(total / rules.step_size)
    floor_steps = min_lot_steps(rules, reference_price)
    if total_steps < floor_steps:
        raise ValueError(f"total {total} is below the minimum order for {rules.symbol} at {reference_price}")
    for count in range(layer_count, 0, -1):
        shares = _split_by_weight(total_steps, skew_weights(count, skew))
        if min(shares) >= floor_steps:
            return [steps * rules.step_size for steps in shares]
    raise AssertionError("unreachable: one layer holds the whole total")  # pragma: no cover


def slot_backoff_ms(base_delay_ms: int, consecutive_fills: int) -> int:
    """Wait before a slot quotes again: base × 2^(fills−1), capped at 16 × base; no fills, no wait."""
    if base_delay_ms < 0:
        raise ValueError(f"base delay must not be negative, got {base_delay_ms}")
    if consecutive_fills <= 0:
        return 0
    # cap the exponent before raising 2 to it so a long fill streak cannot build a huge integer
    factor = min(2 ** min(consecutive_fills - 1, 8), MAX_BACKOFF_FACTOR)
    return base_delay_ms * factor


@dataclass(frozen=True, slots=True)
class FillWindow:
    """Fill times (epoch ms) per side within the last minute."""

    buys: tuple[int, ...] = ()
    sells: tuple[int, ...] = ()


def _recent(times: tuple[int, ...], now_ms: int) -> tuple[int, ...]:
    return tuple(t for t in times if now_ms - t < FILL_WINDOW_MS)


def fill_window_count(window: FillWindow, side: Side, now_ms: int) -> int:
    return len(_recent(window.buys if side is Side.BUY else window.sells, now_ms))


def fill_window_record(window: FillWindow, side: Side, now_ms: int) -> FillWindow:
    """Add a fill and forget those older than 60 s (sliding, not bucketed)."""
    if side is Side.BUY:
        return replace(window, buys=(*_recent(window.buys, now_ms), now_ms))
    return replace(window, sells=(*_recent(window.sells, now_ms), now_ms))


def fill_window_allows(window: FillWindow, side: Side, now_ms: int, max_fills_per_minute: int) -> bool:
    return fill_window_count(window, side, now_ms) < max_fills_per_minute


@dataclass(frozen=True, slots=True)
class SlotPnl:
    """Realized PnL of one slot; the EMA starts at 0, so early values lean towards zero by design."""

    realized: Decimal = ZERO
    ema: Decimal = ZERO
    trades: int = 0


def slot_pnl_record(pnl: SlotPnl, trade_pnl: Decimal) -> SlotPnl:
    """ema = 0.85·ema + 0.15·pnl."""
    return SlotPnl(
        realized=pnl.realized + trade_pnl,
        ema=PNL_EMA_DECAY * pnl.ema + (1 - PNL_EMA_DECAY) * trade_pnl,
        trades=pnl.trades + 1,
    )
