"""Order entry: the checks a new or amended order must pass, then placing, amending and cancelling it."""

from __future__ import annotations

from decimal import Decimal

from simexchange.core import errors, filters
from simexchange.core.accounts import Account
from simexchange.core.book import SymbolBook
from simexchange.core.ledger import Ledger
from simexchange.core.matching import crosses, fillable, take, touch
from simexchange.core.orders import (
    AMENDMENT,
    BUY,
    CANCELED,
    EXPIRED,
    FOK,
    GTC,
    GTX,
    IOC,
    LIMIT,
    MARKET,
    NEW,
    ZERO,
    Order,
)
from simexchange.core.params import ModifyOrderRequest, NewOrderRequest


def _signed(side: str, qty: Decimal) -> Decimal:
    return qty if side == BUY else -qty


def check_filters(book: SymbolBook, request: NewOrderRequest) -> Decimal:
    """Apply the symbol's filters; return the price the order's notional and margin are valued at."""
    spec = book.spec
    is_buy = request.side == BUY
    filters.check_quantity(spec, request.order_type, request.quantity)
    if request.order_type == LIMIT:
        if request.price is None:
            raise errors.mandatory_param("price")
        filters.check_price(spec, request.price)
        filters.check_percent_price(spec, request.side, request.price, book.market.mark_price)
        price = request.price
    else:
        touched = touch(book.market.quote, is_buy)
        if touched is None:
            raise errors.unable_to_fill()
        filters.check_market_band(spec, request.side, touched, book.market.mark_price)
        price = touched
    filters.check_notional(spec, price, request.quantity, request.reduce_only)
    return price


def check_account(ledger: Ledger, account: Account, request: NewOrderRequest, price: Decimal) -> None:
    """Client id, open-order count, reduce-only direction, position cap and initial margin (in Binance's order)."""
    book = ledger.books[request.symbol]
    if request.client_order_id is not None and account.open_client_order(request.symbol, request.client_order_id):
        raise errors.duplicate_client_order_id()
    open_in_symbol = sum(1 for order in account.open_orders.values() if order.symbol == request.symbol)
    if open_in_symbol >= book.spec.max_num_orders:
        raise errors.max_open_orders()
    amount = account.position_amount(request.symbol)
    if request.reduce_only:
        if not amount or (amount > 0) == (request.side == BUY):
            raise errors.reduce_only_rejected()
        return
    margin = ledger.margin
    if abs(amount + _signed(request.side, request.quantity)) * price > margin.max_notional(account, request.symbol):
        raise errors.max_position_at_leverage()
    before = margin.symbol_order_margin(account, request.symbol)
    after = margin.symbol_order_margin(account, request.symbol, [(request.side == BUY, request.quantity, price)])
    if after > before and after - before > margin.available(account):
        raise errors.margin_insufficient()


def place(ledger: Ledger, account: Account, request: NewOrderRequest) -> Order:
    """Validate, create, match and (GTC/GTX) rest a new order; events are published on the way."""
    book = ledger.books[request.symbol]
    price = check_filters(book, request)
    check_account(ledger, account, request, price)
    now = ledger.clock()
    order = Order(
        order_id=0,  # assigned once every check has passed, so rejections leave no gap in the ids
        account_id=account.account_id,
        symbol=request.symbol,
        client_order_id=request.client_order_id or "",
        side=request.side,
        order_type=request.order_type,
        time_in_force=request.time_in_force or GTC,
        orig_qty=request.quantity,
        price=request.price if request.price is not None else ZERO,
        reduce_only=request.reduce_only,
        time_ms=now,
        seq=0,
    )
    _check_matchability(book, order)
    order.order_id = ledger.order_id()
    order.seq = ledger.seq()
    order.client_order_id = request.client_order_id or f"sim-{order.order_id}"
    ledger.register(order)
    ledger.order_update(order, NEW, now)
    _match_and_rest(ledger, book, order)
    return order


def _check_matchability(book: SymbolBook, order: Order) -> None:
    if order.order_type != LIMIT:
        return
    if order.time_in_force == GTX and crosses(book, order):
        raise errors.post_only_rejected()
    if order.time_in_force == FOK and fillable(book, order) < order.orig_qty:
        raise errors.fok_rejected()


def _match_and_rest(ledger: Ledger, book: SymbolBook, order: Order) -> None:
    if order.order_type == MARKET or crosses(book, order):
        take(ledger, book, order)
        ledger.expire_stale_reduce_only(ledger.accounts[order.account_id], order.symbol)
    if not order.is_open:
        return
    if order.order_type == MARKET or order.time_in_force in (IOC, FOK) or ledger.reduce_only_cap(order) <= 0:
        ledger.close(order, EXPIRED, EXPIRED, ledger.clock())
    else:
        book.add(order)


def cancel(ledger: Ledger, account: Account, order: Order | None) -> Order:
    """Cancel an open order (-2011 if it is unknown or no longer open)."""
    if order is None or not order.is_open:
        raise errors.unknown_order()
    ledger.close(order, CANCELED, CANCELED, ledger.clock())
    return order


def _check_modify(ledger: Ledger, account: Account, order: Order | None, request: ModifyOrderRequest) -> Order:
    if order is None or not order.is_open:
        raise errors.order_does_not_exist()
    if order.order_type != LIMIT:
        raise errors.limit_order_only()
    if request.side != order.side:
        raise errors.invalid_parameter("side")
    if request.price == order.price and request.quantity == order.orig_qty:
        raise errors.no_need_to_modify()
    if order.modify_count >= ledger.config.max_modifies_per_order:
        raise errors.too_many_modifies()
    spec = ledger.books[order.symbol].spec
    filters.check_quantity(spec, LIMIT, request.quantity)
    filters.check_price(spec, request.price)
    filters.check_percent_price(spec, order.side, request.price, ledger.books[order.symbol].market.mark_price)
    filters.check_notional(spec, request.price, request.quantity, order.reduce_only)
    if not order.reduce_only:
        _check_modify_margin(ledger, account, order, request)
    return order


def _check_modify_margin(ledger: Ledger, account: Account, order: Order, request: ModifyOrderRequest) -> None:
    """The amendment may only add the initial margin the account has available (the order is re-valued)."""
    margin = ledger.margin
    before = margin.symbol_order_margin(account, order.symbol)
    amended = (order.is_buy, request.quantity - order.executed_qty, request.price)
    after = margin.symbol_order_margin(account, order.symbol, [amended], skip=order.order_id)
    if after > before and after - before > margin.available(account):
        raise errors.margin_insufficient()


def modify(ledger: Ledger, account: Account, order: Order | None, request: ModifyOrderRequest) -> Order:
    """Amend price/quantity in place (same ids, back of the queue); a GTX that would now cross is cancelled."""
    order = _check_modify(ledger, account, order, request)
    book = ledger.books[order.symbol]
    now = ledger.clock()
    if request.quantity <= order.executed_qty:
        ledger.close(order, CANCELED, CANCELED, now)
        return order
    book.remove(order)
    order.price = request.price
    order.orig_qty = request.quantity
    order.modify_count += 1
    order.seq = ledger.seq()
    order.update_time_ms = now
    ledger.order_update(order, AMENDMENT, now)
    if order.time_in_force == GTX and crosses(book, order):
        ledger.close(order, CANCELED, CANCELED, now)
        return order
    _match_and_rest(ledger, book, order)
    return order
