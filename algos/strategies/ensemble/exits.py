"""The exit plan of one open trade: a stop (ATR x 1.5 or fixed), three take-profits with partial exits
(33/33/34 %), and a trailing stop activated at +0.3 % that trails 0.15 % behind the best price. Decimal prices."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class ExitParams:
    stop_mode: str = "atr"  # "atr": entry -/+ ATR x stop_atr_multiple; "fixed": entry -/+ stop_fixed_pct %
    stop_atr_multiple: Decimal = Decimal("1.5")
    stop_fixed_pct: Decimal = Decimal("1.0")
    # take-profit levels in ATR multiples from the entry, and the share of the position each one closes
    take_profit_atr: tuple[Decimal, Decimal, Decimal] = (Decimal("1.0"), Decimal("2.0"), Decimal("3.0"))
    take_profit_fractions: tuple[Decimal, Decimal, Decimal] = (Decimal("0.33"), Decimal("0.33"), Decimal("0.34"))
    trail_activation_pct: Decimal = Decimal("0.3")
    trail_distance_pct: Decimal = Decimal("0.15")

    def __post_init__(self) -> None:
        if self.stop_mode not in ("atr", "fixed"):
            raise ValueError(f"stop_mode must be 'atr' or 'fixed', got {self.stop_mode!r}")
        if sum(self.take_profit_fractions) != 1:
            raise ValueError(f"take-profit fractions must add up to 1, got {self.take_profit_fractions}")
        if list(self.take_profit_atr) != sorted(self.take_profit_atr) or self.take_profit_atr[0] <= 0:
            raise ValueError(f"take-profit levels must be positive and rising, got {self.take_profit_atr}")
        for name in ("stop_atr_multiple", "stop_fixed_pct", "trail_activation_pct", "trail_distance_pct"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class ExitOrder:
    quantity: Decimal
    reason: str  # stop, trailing_stop, tp1, tp2, tp3


def split_quantity(quantity: Decimal, fractions: tuple[Decimal, ...], step: Decimal,
                   min_qty: Decimal) -> list[Decimal]:
    """Partial exit sizes on the step grid; a part below the minimum is folded into the next; the last takes the
    rest."""
    parts: list[Decimal] = []
    for fraction in fractions[:-1]:
        part = (quantity * fraction).quantize(step, rounding=ROUND_DOWN)
        parts.append(part if part >= min_qty else ZERO)
    parts.append(quantity - sum(parts))
    return parts


@dataclass
class ExitPlan:
    direction: int  # +1 long, -1 short
    entry: Decimal
    quantity: Decimal
    stop: Decimal
    take_profits: list[Decimal]
    parts: list[Decimal]
    activation: Decimal  # price at which the trailing stop starts
    trail_fraction: Decimal
    remaining: Decimal = ZERO
    next_tp: int = 0
    trailing: bool = False
    best: Decimal = ZERO
    trail_stop: Decimal | None = None
    done: bool = False
    exits: list[ExitOrder] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.remaining = self.remaining or self.quantity
        self.best = self.best or self.entry

    def on_price(self, price: Decimal) -> list[ExitOrder]:
        """What to close at this price. Stops first (the worst case within a move), then the trail, then targets."""
        if self.done or self.remaining <= 0:
            return []
        long = self.direction > 0
        if (price <= self.stop) if long else (price >= self.stop):
            return self._close_all("stop")
        if self.trail_stop is not None and ((price <= self.trail_stop) if long else (price >= self.trail_stop)):
            return self._close_all("trailing_stop")
        if (price > self.best) if long else (price < self.best):
            self.best = price
        if not self.trailing and ((price >= self.activation) if long else (price <= self.activation)):
            self.trailing = True
        if self.trailing:
            self.trail_stop = self.best * (1 - self.trail_fraction) if long else self.best * (1 + self.trail_fraction)
        return self._targets(price, long)

    def _targets(self, price: Decimal, long: bool) -> list[ExitOrder]:
        orders: list[ExitOrder] = []
        while self.next_tp < len(self.take_profits):
            target = self.take_profits[self.next_tp]
            if not ((price >= target) if long else (price <= target)):
                break
            last = self.next_tp == len(self.take_profits) - 1
            part = self.remaining if last else min(self.parts[self.next_tp], self.remaining)
            self.next_tp += 1
            if part > 0:
                orders.append(self._take(part, f"tp{self.next_tp}"))
            if self.remaining <= 0:
                self.done = True
                break
        return orders

    def quiet_band(self) -> tuple[Decimal, Decimal] | None:
        """(low, high): a price strictly between them changes nothing and exits nothing (a backtest may skip it).
        Before the trail is active the best price is not read, so only the activation price bounds that side."""
        if self.done or self.remaining <= 0:
            return None
        target = self.take_profits[self.next_tp] if self.next_tp < len(self.take_profits) else None
        if self.direction > 0:
            low = self.stop if self.trail_stop is None else max(self.stop, self.trail_stop)
            high = self.best if self.trailing else self.activation
            return low, high if target is None else min(high, target)
        high = self.stop if self.trail_stop is None else min(self.stop, self.trail_stop)
        low = self.best if self.trailing else self.activation
        return (low if target is None else max(low, target)), high

    def _take(self, quantity: Decimal, reason: str) -> ExitOrder:
        self.remaining -= quantity
        order = ExitOrder(quantity, reason)
        self.exits.append(order)
        return order

    def _close_all(self, reason: str) -> list[ExitOrder]:
        self.done = True
        return [self._take(self.remaining, reason)]


def exit_plan(*, direction: int, entry: Decimal, quantity: Decimal, atr: Decimal, params: ExitParams,
              tick: Decimal, step: Decimal, min_qty: Decimal) -> ExitPlan:
    """The plan for a fresh position; levels rounded to the tick (stops away from the entry, targets toward it)."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be 1 or -1, got {direction}")
    if entry <= 0 or quantity <= 0:
        raise ValueError(f"entry and quantity must be positive, got {entry} and {quantity}")
    if params.stop_mode == "atr":
        if atr <= 0:
            raise ValueError(f"an ATR stop needs a positive ATR, got {atr}")
        distance = atr * params.stop_atr_multiple
    else:
        distance = entry * params.stop_fixed_pct / HUNDRED
    unit = atr if atr > 0 else entry * params.stop_fixed_pct / HUNDRED  # targets scale with the stop's unit

    def grid(price: Decimal) -> Decimal:
        return (price / tick).quantize(Decimal(1), rounding=ROUND_DOWN) * tick

    stop = grid(entry - distance) if direction > 0 else grid(entry + distance) + tick
    targets = [grid(entry + direction * unit * multiple) for multiple in params.take_profit_atr]
    activation = entry * (1 + direction * params.trail_activation_pct / HUNDRED)
    return ExitPlan(direction, entry, quantity, stop, targets,
                    split_quantity(quantity, params.take_profit_fractions, step, min_qty), activation,
                    params.trail_distance_pct / HUNDRED)
