"""Accounts: credentials, the USDT cross wallet with its ledger, one-way positions and their fills."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from simexchange.core.frozen import quick_init
from simexchange.core.orders import BUY, ZERO, Order

MONEY_QUANTUM = Decimal("0.00000001")  # wallet amounts carry 8 decimals, as Binance's balances do


def money(amount: Decimal) -> Decimal:
    """Round an amount booked into a wallet to Binance's 8 decimals."""
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


@quick_init
@dataclass(frozen=True, slots=True)
class UserTrade:
    """One of the account's fills (GET /fapi/v1/userTrades)."""

    symbol: str
    trade_id: int
    order_id: int
    side: str
    price: Decimal
    qty: Decimal
    realized_pnl: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    maker: bool
    position_side: str = "BOTH"

    @property
    def buyer(self) -> bool:
        """True when the account bought (Binance's "buyer" flag)."""
        return self.side == BUY


class Position:
    """A one-way (BOTH) position netted at average cost; `amount` is signed (short < 0)."""

    __slots__ = ("accumulated_realized", "amount", "entry_price", "open_fees", "symbol", "update_time_ms")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.amount = ZERO
        self.entry_price = ZERO
        self.accumulated_realized = ZERO
        self.open_fees = ZERO  # fees paid to open what is still open, for the break-even price
        self.update_time_ms = 0

    @property
    def break_even_price(self) -> Decimal:
        """Entry price moved by the opening fees per unit (Binance's breakEvenPrice, without the closing fee)."""
        if not self.amount:
            return ZERO
        per_unit = self.open_fees / abs(self.amount)
        return self.entry_price + per_unit if self.amount > 0 else self.entry_price - per_unit

    def apply_fill(self, side: str, qty: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        """Net a fill into the position; return the realized PnL (8 decimals) of the part that closed."""
        signed = qty if side == BUY else -qty
        amount = self.amount
        if not amount or (amount > 0) == (signed > 0):
            total = abs(amount) + qty
            self.entry_price = (self.entry_price * abs(amount) + price * qty) / total
            self.amount = amount + signed
            self.open_fees += fee
            return ZERO
        closing = min(qty, abs(amount))
        direction = 1 if amount > 0 else -1
        realized = money((price - self.entry_price) * closing * direction)
        self.open_fees -= self.open_fees * closing / abs(amount)
        self.amount = amount + signed
        if not self.amount:
            self.entry_price = ZERO
            self.open_fees = ZERO
        elif qty > abs(amount):  # flipped: the excess opens a new position at the fill price
            self.entry_price = price
            self.open_fees = fee * (qty - closing) / qty
        self.accumulated_realized += realized
        return realized


class Account:
    """One trading account: API credentials, the cross wallet (USDT), positions, orders and fills."""

    __slots__ = (
        "account_id",
        "alias",
        "api_key",
        "closed_order_ids",
        "deposits",
        "fees",
        "funding",
        "leverage",
        "open_orders",
        "orders",
        "positions",
        "realized",
        "secret",
        "trades",
        "update_time_ms",
        "wallet",
    )

    def __init__(self, *, account_id: int, api_key: str, secret: str, alias: str,
                 history_kept: int | None = None) -> None:
        self.account_id = account_id
        self.api_key = api_key
        self.secret = secret
        self.alias = alias
        self.wallet = ZERO
        # The ledger: wallet == deposits + realized - fees + funding, always.
        self.deposits = ZERO
        self.realized = ZERO
        self.fees = ZERO
        self.funding = ZERO
        self.positions: dict[str, Position] = {}
        self.leverage: dict[str, int] = {}
        self.open_orders: dict[int, Order] = {}
        self.orders: dict[int, Order] = {}
        self.trades: deque[UserTrade] = deque(maxlen=history_kept)  # unbounded when None
        self.closed_order_ids: deque[int] | None = None if history_kept is None else deque()
        self.update_time_ms = 0

    def forget_closed(self, order: Order, kept: int) -> None:
        """A closed order joins the bounded history; the oldest closed order beyond `kept` is forgotten."""
        closed = self.closed_order_ids
        if closed is None:
            return
        closed.append(order.order_id)
        if len(closed) > kept:
            self.orders.pop(closed.popleft(), None)

    def position(self, symbol: str) -> Position:
        """The symbol's position, created flat on first use."""
        found = self.positions.get(symbol)
        if found is None:
            found = self.positions[symbol] = Position(symbol)
        return found

    def position_amount(self, symbol: str) -> Decimal:
        """Signed position size (0 when the symbol was never traded)."""
        found = self.positions.get(symbol)
        return found.amount if found is not None else ZERO

    def book_deposit(self, amount: Decimal) -> None:
        """Credit a deposit (or, negative, a withdrawal) to the wallet and the ledger."""
        self.deposits += amount
        self.wallet += amount

    def book_fill(self, realized: Decimal, fee: Decimal) -> None:
        """Credit a fill's realized PnL and debit its fee."""
        self.realized += realized
        self.fees += fee
        self.wallet += realized - fee

    def book_funding(self, amount: Decimal) -> None:
        """Credit (or, negative, debit) a funding payment."""
        self.funding += amount
        self.wallet += amount

    def open_client_order(self, symbol: str, client_order_id: str) -> Order | None:
        """The open order carrying this client id in `symbol`, if any."""
        for order in self.open_orders.values():
            if order.client_order_id == client_order_id and order.symbol == symbol:
                return order
        return None

    def find_order(self, symbol: str, order_id: int | None, client_order_id: str | None) -> Order | None:
        """By id, or the newest order with that client id (open ones first), within `symbol`."""
        if order_id is not None:
            order = self.orders.get(order_id)
            return order if order is not None and order.symbol == symbol else None
        if client_order_id is None:
            return None
        found = self.open_client_order(symbol, client_order_id)
        if found is not None:
            return found
        for order in reversed(self.orders.values()):
            if order.client_order_id == client_order_id and order.symbol == symbol:
                return order
        return None
