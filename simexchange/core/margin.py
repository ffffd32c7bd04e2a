"""Cross-margin arithmetic: unrealized PnL, initial and maintenance margin, liquidation price, and the views."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from simexchange.core.accounts import Account, Position
from simexchange.core.brackets import Bracket, bracket_for_notional, maintenance_margin, max_notional_for_leverage
from simexchange.core.orders import ZERO

DEFAULT_LEVERAGE = 20  # Binance's default initial leverage for a new symbol

OrderIntent = tuple[bool, Decimal, Decimal]  # (is_buy, quantity, price) of an order that may add exposure


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position as positionRisk/account show it, valued at the mark price."""

    symbol: str
    position_amt: Decimal
    entry_price: Decimal
    break_even_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    notional: Decimal
    leverage: int
    max_notional: Decimal
    initial_margin: Decimal
    maint_margin: Decimal
    position_initial_margin: Decimal
    open_order_initial_margin: Decimal
    liquidation_price: Decimal
    accumulated_realized: Decimal
    update_time_ms: int
    margin_asset: str = "USDT"
    position_side: str = "BOTH"
    isolated: bool = False


@dataclass(frozen=True, slots=True)
class AccountView:
    """The cross wallet's totals (single-asset mode, USDT) and every symbol's position."""

    account_id: int
    alias: str
    asset: str
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    maint_margin: Decimal
    initial_margin: Decimal
    position_initial_margin: Decimal
    open_order_initial_margin: Decimal
    available_balance: Decimal
    max_withdraw_amount: Decimal
    update_time_ms: int
    positions: tuple[PositionView, ...]

    @property
    def margin_ratio(self) -> Decimal:
        """Maintenance margin / margin balance; >= 1 means liquidation (infinite when the balance is gone)."""
        if self.margin_balance <= 0:
            return Decimal("Infinity") if self.maint_margin > 0 else ZERO
        return self.maint_margin / self.margin_balance


class MarginCalculator:
    """Values accounts at the latest marks with each symbol's bracket table."""

    def __init__(self, *, marks: Mapping[str, Decimal], brackets: Mapping[str, Sequence[Bracket]]) -> None:
        self._marks = marks  # live mapping owned by the engine: always the latest mark per symbol
        self._brackets = brackets

    def mark(self, symbol: str, fallback: Decimal) -> Decimal:
        """The latest mark of `symbol`, or `fallback` before the first mark event."""
        return self._marks.get(symbol) or fallback

    def leverage(self, account: Account, symbol: str) -> int:
        """The account's leverage for `symbol` (Binance's default 20 until set)."""
        return account.leverage.get(symbol, DEFAULT_LEVERAGE)

    def unrealized(self, position: Position) -> Decimal:
        """Unrealized PnL at the mark."""
        if not position.amount:
            return ZERO
        return (self.mark(position.symbol, position.entry_price) - position.entry_price) * position.amount

    def maint_margin(self, position: Position) -> Decimal:
        """Maintenance margin of the position at the mark, from its bracket."""
        notional = position.amount * self.mark(position.symbol, position.entry_price)
        return maintenance_margin(self._brackets[position.symbol], notional)

    def totals(self, account: Account) -> tuple[Decimal, Decimal]:
        """(total unrealized PnL, total maintenance margin) across the account's positions."""
        upnl = ZERO
        maint = ZERO
        for position in account.positions.values():
            if position.amount:
                upnl += self.unrealized(position)
                maint += self.maint_margin(position)
        return upnl, maint

    def margin_ratio(self, account: Account) -> Decimal:
        """Total maintenance margin / margin balance (infinite once the balance is gone)."""
        upnl, maint = self.totals(account)
        balance = account.wallet + upnl
        if balance <= 0:
            return Decimal("Infinity") if maint > 0 else ZERO
        return maint / balance

    def open_order_margin(self, account: Account, symbol: str | None = None) -> Decimal:
        """Initial margin held by open non-reduce-only orders (all symbols, or one)."""
        symbols = {o.symbol for o in account.open_orders.values()} if symbol is None else {symbol}
        return sum((self.symbol_order_margin(account, name) for name in symbols), ZERO)

    def symbol_order_margin(
        self, account: Account, symbol: str, extra: Sequence[OrderIntent] = (), *, skip: int | None = None
    ) -> Decimal:
        """Margin for the worst exposure `symbol`'s open orders (plus `extra`, minus order `skip`) could add.

        Like Binance in one-way mode, orders that would only close the position need none: the exposure
        if every buy filled is |position + buys|, if every sell filled |position - sells|.
        """
        intents = [
            (o.is_buy, o.remaining, o.price)
            for o in account.open_orders.values()
            if o.symbol == symbol and not o.reduce_only and o.order_id != skip
        ]
        intents.extend(extra)
        buy_qty = sell_qty = buy_value = sell_value = ZERO
        for is_buy, qty, price in intents:
            if is_buy:
                buy_qty, buy_value = buy_qty + qty, buy_value + qty * price
            else:
                sell_qty, sell_value = sell_qty + qty, sell_value + qty * price
        amount = account.position_amount(symbol)
        buy_growth = abs(amount + buy_qty) - abs(amount)
        sell_growth = abs(amount - sell_qty) - abs(amount)
        if buy_growth <= 0 and sell_growth <= 0:
            return ZERO
        # The growth is valued at the average price of the side that causes it.
        if buy_growth >= sell_growth:
            return buy_growth * buy_value / buy_qty / self.leverage(account, symbol)
        return sell_growth * sell_value / sell_qty / self.leverage(account, symbol)

    def position_margin(self, account: Account) -> Decimal:
        """Initial margin of all positions at the mark."""
        total = ZERO
        for position in account.positions.values():
            if position.amount:
                mark = self.mark(position.symbol, position.entry_price)
                total += abs(position.amount) * mark / self.leverage(account, position.symbol)
        return total

    def available(self, account: Account) -> Decimal:
        """Margin balance minus the initial margin of positions and open orders."""
        upnl, _ = self.totals(account)
        return account.wallet + upnl - self.position_margin(account) - self.open_order_margin(account)

    def max_notional(self, account: Account, symbol: str) -> Decimal:
        """The position notional cap at the account's leverage for `symbol`."""
        return max_notional_for_leverage(self._brackets[symbol], self.leverage(account, symbol))

    def liquidation_price(self, account: Account, position: Position) -> Decimal:
        """The mark at which this position alone moving would bring margin ratio to 1 (others held still)."""
        if not position.amount:
            return ZERO
        upnl, maint = self.totals(account)
        own_upnl = self.unrealized(position)
        own_maint = self.maint_margin(position)
        others = account.wallet + (upnl - own_upnl) - (maint - own_maint)
        mark = self.mark(position.symbol, position.entry_price)
        tier = bracket_for_notional(self._brackets[position.symbol], position.amount * mark)
        amount = position.amount
        denominator = amount - abs(amount) * tier.maint_margin_ratio
        price = (amount * position.entry_price - others - tier.cum) / denominator
        return max(price, ZERO)

    def position_view(self, account: Account, position: Position) -> PositionView:
        """The position valued at the mark, as positionRisk shows it."""
        mark = self.mark(position.symbol, position.entry_price)
        leverage = self.leverage(account, position.symbol)
        notional = position.amount * mark
        position_im = abs(notional) / leverage
        order_im = self.open_order_margin(account, position.symbol)
        return PositionView(
            symbol=position.symbol,
            position_amt=position.amount,
            entry_price=position.entry_price,
            break_even_price=position.break_even_price,
            mark_price=mark,
            unrealized_pnl=self.unrealized(position),
            notional=notional,
            leverage=leverage,
            max_notional=self.max_notional(account, position.symbol),
            initial_margin=position_im + order_im,
            maint_margin=self.maint_margin(position),
            position_initial_margin=position_im,
            open_order_initial_margin=order_im,
            liquidation_price=self.liquidation_price(account, position),
            accumulated_realized=position.accumulated_realized,
            update_time_ms=position.update_time_ms,
        )

    def account_view(self, account: Account, symbols: Sequence[str], asset: str = "USDT") -> AccountView:
        """The account's totals and the positions of `symbols`."""
        upnl, maint = self.totals(account)
        position_im = self.position_margin(account)
        order_im = self.open_order_margin(account)
        margin_balance = account.wallet + upnl
        available = margin_balance - position_im - order_im
        positions = tuple(self.position_view(account, account.position(symbol)) for symbol in symbols)
        return AccountView(
            account_id=account.account_id,
            alias=account.alias,
            asset=asset,
            wallet_balance=account.wallet,
            unrealized_pnl=upnl,
            margin_balance=margin_balance,
            maint_margin=maint,
            initial_margin=position_im + order_im,
            position_initial_margin=position_im,
            open_order_initial_margin=order_im,
            available_balance=available,
            max_withdraw_amount=max(ZERO, min(account.wallet, available)),
            update_time_ms=account.update_time_ms,
            positions=positions,
        )
