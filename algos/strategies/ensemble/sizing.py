"""Position sizing: 2 % base x confidence scaling x volatility scaling x session scaling. Decimal throughout.

Confidence scales linearly from 0.5x at 65 % to 1.5x at 95 % (capped there; below 65 % there is no trade).
Volatility: 0.7x high, 1.0x normal, 1.2x low. Session: 0.5x Asian, 1.0x London, 1.0x NY, 1.5x the overlap
(London is not given by the seed: it is as liquid as New York alone, so it sizes like NY).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from algos.strategies.indicators.regime import VolatilityLevel
from algos.strategies.indicators.session import TradingSession
from trading.domain.instruments import InstrumentRules

ZERO, ONE = Decimal(0), Decimal(1)
BASE_FRACTION = Decimal("0.02")
MIN_CONFIDENCE, MAX_CONFIDENCE = Decimal("0.65"), Decimal("0.95")
MIN_CONFIDENCE_SCALE, MAX_CONFIDENCE_SCALE = Decimal("0.5"), Decimal("1.5")
VOLATILITY_SCALE = {VolatilityLevel.HIGH: Decimal("0.7"), VolatilityLevel.NORMAL: Decimal("1.0"),
                    VolatilityLevel.LOW: Decimal("1.2")}
SESSION_SCALE = {TradingSession.ASIAN: Decimal("0.5"), TradingSession.LONDON: Decimal("1.0"),
                 TradingSession.NY: Decimal("1.0"), TradingSession.LONDON_NY_OVERLAP: Decimal("1.5")}


class SizingError(ValueError):
    """Inputs a size cannot come from (negative equity, confidence outside [0, 1], price not positive)."""


def confidence_scale(confidence: Decimal, *, min_confidence: Decimal = MIN_CONFIDENCE) -> Decimal:
    """0 below min_confidence (no trade); 0.5 at 65 %, 1.5 at 95 % and above, linear between."""
    if not ZERO <= confidence <= 1:
        raise SizingError(f"confidence must be between 0 and 1, got {confidence}")
    if confidence < min_confidence:
        return ZERO
    if confidence >= MAX_CONFIDENCE:
        return MAX_CONFIDENCE_SCALE
    span = MAX_CONFIDENCE_SCALE - MIN_CONFIDENCE_SCALE
    above = max(confidence, MIN_CONFIDENCE) - MIN_CONFIDENCE
    return MIN_CONFIDENCE_SCALE + above / (MAX_CONFIDENCE - MIN_CONFIDENCE) * span


@dataclass(frozen=True, slots=True)
class SizeDecision:
    fraction: Decimal  # of equity, as margin
    notional: Decimal  # fraction x equity x leverage
    quantity: Decimal  # notional / price, rounded down to the step; 0 when below the instrument's minimum
    reason: str


def position_size(*, equity: Decimal, price: Decimal, confidence: Decimal, volatility: VolatilityLevel,
                  session: TradingSession, rules: InstrumentRules, leverage: Decimal = ONE,
                  base_fraction: Decimal = BASE_FRACTION, min_confidence: Decimal = MIN_CONFIDENCE) -> SizeDecision:
    if equity < 0:
        raise SizingError(f"equity must not be negative, got {equity}")
    if price <= 0:
        raise SizingError(f"price must be positive, got {price}")
    if leverage <= 0:
        raise SizingError(f"leverage must be positive, got {leverage}")
    fraction = (base_fraction * confidence_scale(confidence, min_confidence=min_confidence)
                * VOLATILITY_SCALE[volatility] * SESSION_SCALE[session])
    notional = equity * fraction * leverage
    quantity = (notional / price).quantize(rules.step_size, rounding=ROUND_DOWN) if notional > 0 else ZERO
    if fraction == 0:
        return SizeDecision(fraction, notional, ZERO, f"confidence {confidence} is below {min_confidence}")
    if quantity < rules.min_qty or quantity * price < rules.min_notional:
        return SizeDecision(fraction, notional, ZERO,
                            f"{notional:.2f} USDT is below {rules.symbol}'s minimum order "
                            f"({rules.min_qty} or {rules.min_notional} USDT)")
    return SizeDecision(fraction, notional, quantity, "")
