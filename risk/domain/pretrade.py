"""The pre-trade check: one pure function over in-memory books, a reason for every denial, never raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from trading.domain.records import OrderIntent
from trading.domain.types import Side

from .breakers import EventWindow
from .limits import NO_GLOBAL_LIMITS, NO_LIMITS, GlobalLimits, SubAccountLimits, money
from .states import ScopeState, TradingState

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""
    code: str = ""


ALLOW = Decision(True)


def deny(code: str, reason: str) -> Decision:
    return Decision(False, reason, code)


@dataclass(slots=True)
class AccountBook:
    """What the checks need of one sub-account, kept current by the risk engine."""

    sub_account_id: int
    limits: SubAccountLimits = NO_LIMITS
    positions: dict[str, Decimal] = field(default_factory=dict)  # signed quantity per symbol
    working_buy: dict[str, Decimal] = field(default_factory=dict)  # unfilled quantity of exposure-adding orders
    working_sell: dict[str, Decimal] = field(default_factory=dict)
    open_orders: int = 0
    margin_balance: Decimal | None = None  # wallet + unrealized PnL at the last evaluation
    orders: EventWindow = field(default_factory=EventWindow)  # orders let through in the last minute


@dataclass(slots=True)
class GlobalBook:
    """Across sub-accounts: the net per symbol (what the exchange holds) and the gross per symbol."""

    limits: GlobalLimits = NO_GLOBAL_LIMITS
    net: dict[str, Decimal] = field(default_factory=dict)
    gross: dict[str, Decimal] = field(default_factory=dict)  # Σ |sub-account quantity|
    marks: dict[str, Decimal] = field(default_factory=dict)


def is_reducing(position: Decimal, side: Side, quantity: Decimal) -> bool:
    """The order only shrinks the sub-account's position (never flips it)."""
    if position > 0:
        return side is Side.SELL and quantity <= position
    if position < 0:
        return side is Side.BUY and quantity <= -position
    return False


def pre_trade_check(intent: OrderIntent, *, book: AccountBook, world: GlobalBook, reference_price: Decimal | None,
                    now_ms: int, states: tuple[ScopeState | None, ...] = ()) -> Decision:
    """Allow, or deny with a reason an operator can act on. Any failure inside denies (fail closed)."""
    try:
        return _check(intent, book, world, reference_price, now_ms, states)
    except Exception as exc:  # the hook must never raise into the order path
        return deny("risk_error", f"risk check failed ({type(exc).__name__}: {exc}); order refused")


def _check(intent: OrderIntent, book: AccountBook, world: GlobalBook, reference: Decimal | None, now_ms: int,
           states: tuple[ScopeState | None, ...]) -> Decision:
    symbol, side, quantity = intent.symbol, intent.side, intent.quantity
    limits = book.limits
    position = book.positions.get(symbol, ZERO)
    reducing = is_reducing(position, side, quantity)
    if states:
        refused = _state_denial(intent, position, reducing, states)
        if refused is not None:
            return refused
    if not quantity.is_finite() or quantity <= 0:
        return deny("invalid", f"quantity must be positive, got {quantity}")
    if not limits.allows_symbol(symbol):
        return deny("symbol_not_allowed", f"{symbol} is not among the allowed symbols "
                                          f"({', '.join(sorted(limits.allowed_symbols))})")
    counted = _count_denial(book, now_ms, reducing)
    if counted is not None:
        return counted
    price = intent.price if intent.price is not None else reference
    if limits.price_band_pct is not None and intent.price is not None:
        band = _band(intent.price, reference, limits.price_band_pct, symbol)
        if band is not None:
            return band
    if reducing:
        return ALLOW
    return _priced_exposure(intent, book, world, price)


def _priced_exposure(intent: OrderIntent, book: AccountBook, world: GlobalBook, price: Decimal | None) -> Decision:
    if price is not None and price.is_finite() and price > 0:
        return _exposure(intent, book, world, price)
    if not _notional_limited(book.limits, world, intent.symbol):
        return ALLOW  # no exposure limit applies, so no price is needed to check one
    return deny("no_price", f"no price for {intent.symbol}: exposure limits cannot be checked, order refused")


def _notional_limited(limits: SubAccountLimits, world: GlobalBook, symbol: str) -> bool:
    own = (limits.max_order_notional, limits.max_position_notional, limits.max_total_notional, limits.max_leverage)
    desk = world.limits
    return (any(limit is not None for limit in own) or desk.max_total_notional is not None
            or desk.max_symbol_net_notional is not None or symbol in desk.per_symbol_net_notional)


def _count_denial(book: AccountBook, now_ms: int, reducing: bool) -> Decision | None:
    limits = book.limits
    if limits.max_orders_per_minute is not None and book.orders.count(now_ms) >= limits.max_orders_per_minute:
        return deny("order_rate", f"max orders per minute {limits.max_orders_per_minute} reached")
    if limits.max_open_orders is not None and book.open_orders >= limits.max_open_orders and not reducing:
        return deny("open_orders", f"max open orders {limits.max_open_orders} reached")
    return None


def _state_denial(intent: OrderIntent, position: Decimal, reducing: bool,
                  states: tuple[ScopeState | None, ...]) -> Decision | None:
    for scope_state in states:
        if scope_state is None or scope_state.state is TradingState.ACTIVE:
            continue
        if scope_state.state is TradingState.HALTED:
            return deny("halted", f"trading is halted for {scope_state.scope}: {scope_state.reason}")
        if not reducing:
            return deny("reducing", f"{scope_state.scope} may only reduce exposure ({scope_state.reason}); "
                                    f"this {intent.side.value} of {intent.quantity} {intent.symbol} would not "
                                    f"reduce {position}")
    return None


def _band(price: Decimal, reference: Decimal | None, band_pct: Decimal, symbol: str) -> Decision | None:
    if reference is None or reference <= 0:
        return deny("no_price", f"no mark for {symbol}: the ±{band_pct} % price band cannot be checked")
    distance = abs(price - reference) / reference * HUNDRED
    if distance > band_pct:
        return deny("price_band", f"limit price {price} is {distance:.2f} % from the mark {reference}, "
                                  f"beyond the ±{band_pct} % band")
    return None


def _exposure(intent: OrderIntent, book: AccountBook, world: GlobalBook, price: Decimal) -> Decision:
    symbol, quantity, limits = intent.symbol, intent.quantity, book.limits
    order_notional = quantity * price
    if limits.max_order_notional is not None and order_notional > limits.max_order_notional:
        return deny("order_notional", f"max order notional {money(limits.max_order_notional)} USDT would be "
                                      f"exceeded: {money(order_notional)}")
    position = book.positions.get(symbol, ZERO)
    signed = quantity if intent.side is Side.BUY else -quantity
    if signed > 0:
        worst = abs(position + book.working_buy.get(symbol, ZERO) + quantity)
    else:
        worst = abs(position - book.working_sell.get(symbol, ZERO) - quantity)
    position_notional = worst * price
    if limits.max_position_notional is not None and position_notional > limits.max_position_notional:
        return deny("position_notional", f"max position notional {money(limits.max_position_notional)} USDT "
                                         f"would be exceeded: {money(position_notional)}")
    if limits.max_total_notional is not None or limits.max_leverage is not None:
        refused = _account_total(book, world, symbol, position_notional)
        if refused is not None:
            return refused
    return _global(intent, world, signed, price)


def _account_total(book: AccountBook, world: GlobalBook, symbol: str, position_notional: Decimal) -> Decision | None:
    limits, marks = book.limits, world.marks
    total = position_notional
    for other, qty in book.positions.items():
        if other != symbol and qty:
            total += abs(qty) * marks.get(other, ZERO)
    if limits.max_total_notional is not None and total > limits.max_total_notional:
        return deny("total_notional", f"max total notional {money(limits.max_total_notional)} USDT would be "
                                      f"exceeded: {money(total)}")
    if limits.max_leverage is not None:
        balance = book.margin_balance
        if balance is None or balance <= 0:
            return deny("leverage", f"no margin balance to carry {money(total)} USDT of positions")
        leverage = total / balance
        if leverage > limits.max_leverage:
            return deny("leverage", f"max leverage {limits.max_leverage}x would be exceeded: {leverage:.2f}x "
                                    f"({money(total)} USDT on a margin balance of {money(balance)})")
    return None


def _global(intent: OrderIntent, world: GlobalBook, signed: Decimal, price: Decimal) -> Decision:
    limits = world.limits
    symbol = intent.symbol
    cap = limits.per_symbol_net_notional.get(symbol, limits.max_symbol_net_notional)
    net = world.net.get(symbol, ZERO)
    if cap is not None:
        after = abs(net + signed) * price
        if after > cap and after > abs(net) * price:
            return deny("global_net", f"desk net {symbol} exposure {money(cap)} USDT would be exceeded: "
                                      f"{money(after)}")
    if limits.max_total_notional is not None:
        marks = world.marks
        total = intent.quantity * price
        for other, gross in world.gross.items():
            total += gross * (price if other == symbol else marks.get(other, ZERO))
        if total > limits.max_total_notional:
            return deny("global_total", f"desk total notional {money(limits.max_total_notional)} USDT would be "
                                        f"exceeded: {money(total)}")
    return ALLOW
