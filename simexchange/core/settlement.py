"""What mark-price events trigger: funding every funding time, and liquidation of accounts whose margin ratio hits 1."""

from __future__ import annotations

from decimal import Decimal

from simexchange.core.accounts import Account, money
from simexchange.core.book import SymbolBook
from simexchange.core.events import REASON_FUNDING_FEE, AccountUpdate, BalanceChange
from simexchange.core.ledger import Ledger
from simexchange.core.orders import BUY, CALCULATED, CANCELED, MARKET, SELL, Order
from simexchange.marketdata import MarkPrice


def settle_funding(ledger: Ledger, book: SymbolBook, event: MarkPrice) -> None:
    """At the first mark event at/after the announced funding time, charge position notional x rate.

    The rate is the one announced before that time (the last event's); longs pay a positive rate.
    """
    market = book.market
    due = market.next_funding_time_ms
    if not due or event.event_time_ms < due or due <= market.settled_funding_time_ms or market.funding_rate is None:
        return
    market.settled_funding_time_ms = due
    rate = market.funding_rate
    now = ledger.clock()
    for account in ledger.accounts.values():
        amount = account.position_amount(event.symbol)
        if not amount:
            continue
        fee = money(-amount * event.mark_price * rate)
        account.book_funding(fee)
        account.update_time_ms = now
        # Cross margin: Binance pushes only the balance for FUNDING_FEE, no position.
        balance = BalanceChange(ledger.config.fee_asset, account.wallet, account.wallet, fee)
        ledger.publish(AccountUpdate(account.account_id, now, now, REASON_FUNDING_FEE, (balance,), ()))


def check_liquidations(ledger: Ledger, symbol: str) -> None:
    """Liquidate every account holding `symbol` whose margin ratio (maintenance / margin balance) reached 1."""
    for account in tuple(ledger.accounts.values()):
        if account.position_amount(symbol) and ledger.margin.margin_ratio(account) >= 1:
            liquidate(ledger, account)


def liquidate(ledger: Ledger, account: Account) -> None:
    """Cancel the account's open orders, then close every position at the mark with an `autoclose-<ts>` MARKET order."""
    now = ledger.clock()
    for order in tuple(account.open_orders.values()):
        ledger.close(order, CANCELED, CANCELED, now)
    for position in tuple(account.positions.values()):
        if not position.amount:
            continue
        mark = ledger.marks.get(position.symbol) or position.entry_price
        order = Order(
            order_id=ledger.order_id(),
            account_id=account.account_id,
            symbol=position.symbol,
            client_order_id=f"autoclose-{now}",
            side=SELL if position.amount > 0 else BUY,
            order_type=MARKET,
            time_in_force="GTC",
            orig_qty=abs(position.amount),
            price=Decimal(0),
            reduce_only=True,
            time_ms=now,
            seq=ledger.seq(),
        )
        ledger.register(order)
        ledger.fill(order, order.orig_qty, mark, maker=False, execution_type=CALCULATED)
