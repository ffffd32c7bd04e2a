"""The engine's shared state and bookkeeping: ids, order lifecycle, fills booked into wallet and position, events."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from simexchange.core.accounts import Account, UserTrade, money
from simexchange.core.book import SymbolBook
from simexchange.core.config import EngineConfig
from simexchange.core.events import (
    REASON_ORDER,
    AccountUpdate,
    BalanceChange,
    EventBus,
    OrderTradeUpdate,
    PositionChange,
    UserEvent,
)
from simexchange.core.margin import MarginCalculator
from simexchange.core.orders import BUY, FILLED, PARTIALLY_FILLED, TRADE, ZERO, Order


class Ledger:
    """Accounts, books and counters, and the one place that changes an order, a position or a wallet."""

    def __init__(self, config: EngineConfig, clock: Callable[[], int]) -> None:
        self.config = config
        self.clock = clock
        self.books: dict[str, SymbolBook] = {spec.symbol: SymbolBook(spec) for spec in config.symbols}
        self.marks: dict[str, Decimal] = {}
        self.margin = MarginCalculator(marks=self.marks, brackets=config.brackets)
        self.accounts: dict[int, Account] = {}
        self.bus = EventBus(max_queued=config.max_queued_events)
        self.outbox: list[UserEvent] = []  # events of the call in progress, returned to in-process callers
        self._next_order_id = config.first_order_id
        self._next_trade_id = config.first_trade_id
        self._next_seq = 0
        self._history_kept = config.history_kept

    # ids ---------------------------------------------------------------------------------------
    def order_id(self) -> int:
        """The next order id (monotonic)."""
        self._next_order_id += 1
        return self._next_order_id - 1

    def trade_id(self) -> int:
        """The next trade id (monotonic)."""
        self._next_trade_id += 1
        return self._next_trade_id - 1

    def seq(self) -> int:
        """The next queue-priority sequence number."""
        self._next_seq += 1
        return self._next_seq

    # events ------------------------------------------------------------------------------------
    def publish(self, event: UserEvent) -> None:
        """Hand an event to the bus and keep it for the caller of the current engine call."""
        self.outbox.append(event)
        self.bus.publish(event)

    def take_outbox(self) -> list[UserEvent]:
        """The events of the current call, emptying the outbox."""
        events = self.outbox
        self.outbox = []
        return events

    def side_notionals(self, account: Account, symbol: str) -> tuple[Decimal, Decimal]:
        """Open buy and sell notional of the account in `symbol` (ORDER_TRADE_UPDATE "b" and "a")."""
        bids = asks = ZERO
        for order in account.open_orders.values():
            if order.symbol == symbol:
                if order.is_buy:
                    bids += order.price * order.remaining
                else:
                    asks += order.price * order.remaining
        return bids, asks

    def order_update(self, order: Order, execution_type: str, now: int) -> None:
        """Publish an ORDER_TRADE_UPDATE without a trade (NEW, CANCELED, EXPIRED, AMENDMENT)."""
        account = self.accounts[order.account_id]
        bids, asks = self.side_notionals(account, order.symbol)
        self.publish(
            OrderTradeUpdate(
                account_id=order.account_id,
                event_time_ms=now,
                transaction_time_ms=now,
                order=order.view(),
                execution_type=execution_type,
                bids_notional=bids,
                asks_notional=asks,
            )
        )

    # order lifecycle ---------------------------------------------------------------------------
    def register(self, order: Order) -> None:
        """Record a new order as the account's and open."""
        account = self.accounts[order.account_id]
        account.orders[order.order_id] = order
        account.open_orders[order.order_id] = order

    def close(self, order: Order, status: str, execution_type: str, now: int) -> None:
        """End an open order (CANCELED/EXPIRED): off the book, out of the open set, event published."""
        account = self.accounts[order.account_id]
        self.books[order.symbol].remove(order)
        account.open_orders.pop(order.order_id, None)
        order.status = status
        order.update_time_ms = now
        self.order_update(order, execution_type, now)
        if self._history_kept is not None:
            account.forget_closed(order, self._history_kept)

    def reduce_only_cap(self, order: Order) -> Decimal:
        """How much of `order` may still fill: all of it, or for reduce-only, what closes the position."""
        if not order.reduce_only:
            return order.remaining
        amount = self.accounts[order.account_id].position_amount(order.symbol)
        closable = -amount if order.is_buy else amount
        return min(order.remaining, max(closable, ZERO))

    # fills -------------------------------------------------------------------------------------
    def fill(self, order: Order, qty: Decimal, price: Decimal, *, maker: bool, execution_type: str = TRADE) -> None:
        """Book one fill: position, wallet, order, the user trade, then ACCOUNT_UPDATE and ORDER_TRADE_UPDATE."""
        now = self.clock()
        account = self.accounts[order.account_id]
        quote_qty = price * qty
        fee = money(quote_qty * (self.config.maker_fee_rate if maker else self.config.taker_fee_rate))
        position = account.position(order.symbol)
        realized = position.apply_fill(order.side, qty, price, fee)
        position.update_time_ms = now
        account.book_fill(realized, fee)
        account.update_time_ms = now
        order.executed_qty += qty
        order.cum_quote += quote_qty
        order.update_time_ms = now
        order.status = FILLED if order.executed_qty >= order.orig_qty else PARTIALLY_FILLED
        if order.status == FILLED:
            self.books[order.symbol].remove(order)
            account.open_orders.pop(order.order_id, None)
            if self._history_kept is not None:
                account.forget_closed(order, self._history_kept)
        trade_id = self.trade_id()
        account.trades.append(
            UserTrade(
                symbol=order.symbol,
                trade_id=trade_id,
                order_id=order.order_id,
                side=order.side,
                price=price,
                qty=qty,
                realized_pnl=realized,
                quote_qty=quote_qty,
                commission=fee,
                commission_asset=self.config.fee_asset,
                time_ms=now,
                maker=maker,
            )
        )
        self._publish_account(account, order.symbol, now)
        bids, asks = self.side_notionals(account, order.symbol)
        self.publish(
            OrderTradeUpdate(
                account_id=account.account_id,
                event_time_ms=now,
                transaction_time_ms=now,
                order=order.view(),
                execution_type=execution_type,
                last_filled_qty=qty,
                last_filled_price=price,
                commission=fee,
                commission_asset=self.config.fee_asset,
                trade_id=trade_id,
                is_maker=maker,
                realized_profit=realized,
                bids_notional=bids,
                asks_notional=asks,
            )
        )

    def _publish_account(self, account: Account, symbol: str, now: int) -> None:
        position = account.position(symbol)
        change = PositionChange(
            symbol=symbol,
            position_amt=position.amount,
            entry_price=position.entry_price,
            break_even_price=position.break_even_price,
            accumulated_realized=position.accumulated_realized,
            unrealized_pnl=self.margin.unrealized(position),
        )
        balance = BalanceChange(self.config.fee_asset, account.wallet, account.wallet, ZERO)
        self.publish(AccountUpdate(account.account_id, now, now, REASON_ORDER, (balance,), (change,)))

    def expire_stale_reduce_only(self, account: Account, symbol: str) -> None:
        """Binance cancels reduce-only orders that can no longer reduce (position closed or flipped)."""
        amount = account.position_amount(symbol)
        now = self.clock()
        for order in tuple(account.open_orders.values()):
            if order.symbol != symbol or not order.reduce_only:
                continue
            if not amount or (amount > 0) == (order.side == BUY):
                self.close(order, "EXPIRED", "EXPIRED", now)
