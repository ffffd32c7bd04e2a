"""MatchingEngine: the synchronous facade that the server, tests and backtests drive."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from simexchange.core import entry, errors
from simexchange.core.accounts import Account, UserTrade
from simexchange.core.book import SymbolBook
from simexchange.core.brackets import Bracket, max_leverage
from simexchange.core.config import EngineConfig
from simexchange.core.events import (
    REASON_DEPOSIT,
    AccountUpdate,
    BalanceChange,
    EventBus,
    OrderTradeUpdate,
    UserEvent,
)
from simexchange.core.ledger import Ledger
from simexchange.core.margin import AccountView, PositionView
from simexchange.core.marketdata_state import MarketState
from simexchange.core.matching import fill_on_quote, fill_on_trade
from simexchange.core.orders import Order, OrderView
from simexchange.core.params import (
    NewOrderRequest,
    OrderRef,
    Params,
    optional_int,
    parse_modify,
    parse_new_order,
    parse_order_ref,
    symbol_of,
)
from simexchange.core.ratelimit import RateLimiter
from simexchange.core.settlement import check_liquidations, settle_funding
from simexchange.core.symbols import SymbolSpec
from simexchange.marketdata import BookTicker, MarketEvent, MarkPrice, Trade

_NO_EVENTS: tuple[UserEvent, ...] = ()  # shared: the no-fill quote path allocates nothing


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the server needs to authenticate a request signed with an API key."""

    account_id: int
    api_key: str
    secret: str


@dataclass(frozen=True, slots=True)
class LeverageChange:
    """POST /fapi/v1/leverage's answer."""

    symbol: str
    leverage: int
    max_notional: Decimal


class MatchingEngine:
    """A pure, synchronous Binance USD-M venue. `clock` returns epoch milliseconds (live or virtual).

    Mutating calls raise `ExchangeError` and leave the state unchanged on rejection. User-data events go
    to `events` (subscribe or drain); market-event handlers also return the events they caused.
    """

    def __init__(self, config: EngineConfig | None = None, *, clock: Callable[[], int]) -> None:
        self.config = config or EngineConfig()
        missing = [spec.symbol for spec in self.config.symbols if spec.symbol not in self.config.brackets]
        if missing:
            raise ValueError(f"no leverage brackets configured for {', '.join(missing)}")
        self._ledger = Ledger(self.config, clock)
        self._books = self._ledger.books
        self.rate_limiter = RateLimiter(self.config.rate_limits, clock)
        self._by_api_key: dict[str, Account] = {}
        self._handlers: dict[type, Callable[[MarketEvent], Sequence[UserEvent]]] = {
            BookTicker: self.on_book_ticker,  # type: ignore[dict-item]
            Trade: self.on_trade,  # type: ignore[dict-item]
            MarkPrice: self.on_mark_price,  # type: ignore[dict-item]
        }

    # reference data ----------------------------------------------------------------------------
    @property
    def events(self) -> EventBus:
        """The user-data event bus: `subscribe(callback, account_id=None)` and `drain(account_id=None)`."""
        return self._ledger.bus

    @property
    def symbols(self) -> tuple[SymbolSpec, ...]:
        """The configured symbols, in exchangeInfo order."""
        return self.config.symbols

    @property
    def books(self) -> Mapping[str, SymbolBook]:
        """Each symbol's book by name (read-only by convention); what typed requests are checked against."""
        return self._books

    def now_ms(self) -> int:
        """The injected clock's time (serverTime)."""
        return self._ledger.clock()

    def spec(self, symbol: str) -> SymbolSpec:
        """A symbol's spec; -1121 if unknown."""
        book = self._books.get(symbol)
        if book is None:
            raise errors.bad_symbol()
        return book.spec

    def market(self, symbol: str) -> MarketState:
        """Latest quote, mark, funding and last price of a symbol (read-only by convention); -1121 if unknown."""
        book = self._books.get(symbol)
        if book is None:
            raise errors.bad_symbol()
        return book.market

    def leverage_brackets(self, symbol: str | None = None) -> dict[str, tuple[Bracket, ...]]:
        """Bracket tables per symbol (one symbol if given; -1121 if unknown)."""
        if symbol is None:
            return {spec.symbol: self.config.brackets[spec.symbol] for spec in self.symbols}
        self.spec(symbol)
        return {symbol: self.config.brackets[symbol]}

    # accounts ----------------------------------------------------------------------------------
    def create_account(
        self, *, api_key: str, secret: str, deposit: Decimal = Decimal(0), alias: str | None = None
    ) -> int:
        """Open an account (API key must be unique) with an optional USDT deposit; returns its id."""
        if api_key in self._by_api_key:
            raise ValueError(f"API key already in use: {api_key}")
        account_id = len(self._ledger.accounts) + 1
        account = Account(account_id=account_id, api_key=api_key, secret=secret, alias=alias or f"sim{account_id}",
                          history_kept=self.config.history_kept)
        self._ledger.accounts[account_id] = account
        self._by_api_key[api_key] = account
        if deposit:
            self.deposit(account_id, deposit)
        return account_id

    def credentials(self, api_key: str) -> Credentials | None:
        """The account behind an API key, with its secret (None if the key is unknown)."""
        account = self._by_api_key.get(api_key)
        return Credentials(account.account_id, account.api_key, account.secret) if account else None

    def deposit(self, account_id: int, amount: Decimal) -> list[UserEvent]:
        """Credit (or, negative, debit) USDT; publishes ACCOUNT_UPDATE reason DEPOSIT/WITHDRAW."""
        account = self._account(account_id)
        now = self.now_ms()
        account.book_deposit(amount)
        account.update_time_ms = now
        balance = BalanceChange(self.config.fee_asset, account.wallet, account.wallet, amount)
        reason = REASON_DEPOSIT if amount >= 0 else "WITHDRAW"
        self._ledger.publish(AccountUpdate(account_id, now, now, reason, (balance,), ()))
        return self._ledger.take_outbox()

    def _account(self, account_id: int) -> Account:
        account = self._ledger.accounts.get(account_id)
        if account is None:
            raise errors.ExchangeError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        return account

    # market events -----------------------------------------------------------------------------
    def on_market_event(self, event: MarketEvent) -> Sequence[UserEvent]:
        """Dispatch any market event; returns the user events it caused."""
        return self._handlers[type(event)](event)

    def on_book_ticker(self, ticker: BookTicker) -> Sequence[UserEvent]:
        """New L1 quote: resting orders it reaches fill as makers. The no-fill path is two comparisons."""
        book = self._books.get(ticker.symbol)
        if book is None:
            return _NO_EVENTS
        book.market.quote = ticker
        if ticker.ask_price <= book.best_buy or ticker.bid_price >= book.best_sell:
            fill_on_quote(self._ledger, book, ticker)
            return self._ledger.take_outbox() or _NO_EVENTS
        return _NO_EVENTS

    def on_trade(self, trade: Trade) -> Sequence[UserEvent]:
        """A public print: resting orders at or through its price fill as makers."""
        book = self._books.get(trade.symbol)
        if book is None:
            return _NO_EVENTS
        book.market.last_price = trade.price
        if trade.price <= book.best_buy or trade.price >= book.best_sell:
            fill_on_trade(self._ledger, book, trade.price, trade.quantity)
            return self._ledger.take_outbox() or _NO_EVENTS
        return _NO_EVENTS

    def on_mark_price(self, mark: MarkPrice) -> Sequence[UserEvent]:
        """New mark: settle funding if a funding time passed, then liquidate accounts at margin ratio >= 1."""
        book = self._books.get(mark.symbol)
        if book is None:
            return _NO_EVENTS
        settle_funding(self._ledger, book, mark)
        market = book.market
        market.mark_price = mark.mark_price
        market.index_price = mark.index_price
        market.funding_rate = mark.funding_rate
        market.next_funding_time_ms = mark.next_funding_time_ms
        self._ledger.marks[mark.symbol] = mark.mark_price
        check_liquidations(self._ledger, mark.symbol)
        return self._ledger.take_outbox() or _NO_EVENTS

    # orders --------------------------------------------------------------------------------------
    def new_order(self, account_id: int, params: Params) -> OrderView:
        """POST /fapi/v1/order: validate, count against the order limits, match, rest; returns the RESULT view."""
        account = self._account(account_id)
        return self._place(account, parse_new_order(params, self._books))

    def new_order_typed(self, account_id: int, request: NewOrderRequest) -> OrderView:
        """new_order for an in-process caller that built the request with `params.typed_new_order`."""
        return self._place(self._account(account_id), request)

    def _place(self, account: Account, request: NewOrderRequest) -> OrderView:
        self.rate_limiter.charge_order(account.account_id)
        try:
            return self._latest_view(entry.place(self._ledger, account, request))
        finally:
            self._ledger.take_outbox()

    def _latest_view(self, order: Order) -> OrderView:
        """The order as it is now. Every change of an order publishes its snapshot, so the last one this call
        published is the order now (the same frozen view: an in-process caller need not translate it twice)."""
        for event in reversed(self._ledger.outbox):
            if type(event) is OrderTradeUpdate and event.order.order_id == order.order_id:
                return event.order
        return order.view()

    def new_orders_batch(self, account_id: int, batch: Sequence[Params]) -> list[OrderView | errors.ExchangeError]:
        """POST /fapi/v1/batchOrders (at most 5; -4082 otherwise): one result per item, order or error."""
        self._account(account_id)
        if not batch or len(batch) > self.config.max_batch_orders:
            raise errors.too_many_batch_orders(len(batch))
        results: list[OrderView | errors.ExchangeError] = []
        for params in batch:
            try:
                results.append(self.new_order(account_id, params))
            except errors.ExchangeError as error:
                results.append(error)
        return results

    def modify_order(self, account_id: int, params: Params) -> OrderView:
        """PUT /fapi/v1/order: new price/quantity of an open LIMIT order; counts as an order."""
        account = self._account(account_id)
        request = parse_modify(params, self._books)
        self.rate_limiter.charge_order(account_id)
        order = account.find_order(request.symbol, request.order_id, request.orig_client_order_id)
        try:
            return entry.modify(self._ledger, account, order, request).view()
        finally:
            self._ledger.take_outbox()

    def cancel_order(self, account_id: int, params: Params) -> OrderView:
        """DELETE /fapi/v1/order by orderId or origClientOrderId (-2011 if not open)."""
        account = self._account(account_id)
        return self._cancel(account, parse_order_ref(params, self._books))

    def cancel_order_typed(self, account_id: int, ref: OrderRef) -> OrderView:
        """cancel_order for an in-process caller that built the reference with `params.typed_order_ref`."""
        return self._cancel(self._account(account_id), ref)

    def _cancel(self, account: Account, ref: OrderRef) -> OrderView:
        order = account.find_order(ref.symbol, ref.order_id, ref.orig_client_order_id)
        try:
            return self._latest_view(entry.cancel(self._ledger, account, order))
        finally:
            self._ledger.take_outbox()

    def cancel_orders_batch(self, account_id: int, params: Params) -> list[OrderView | errors.ExchangeError]:
        """DELETE /fapi/v1/batchOrders: `orderIdList` or `origClientOrderIdList` (JSON text or a list), at most 10."""
        account = self._account(account_id)
        symbol = symbol_of(params, self._books)
        ids, by_client_id = _id_list(params)
        if len(ids) > self.config.max_batch_cancels:
            raise errors.ExchangeError(-4032, "Exceed maximum cancel order size.")
        results: list[OrderView | errors.ExchangeError] = []
        for ident in ids:
            if by_client_id:
                order = account.find_order(symbol, None, str(ident))
            else:
                order = account.find_order(symbol, ident, None)  # type: ignore[arg-type]
            try:
                results.append(entry.cancel(self._ledger, account, order).view())
            except errors.ExchangeError as error:
                results.append(error)
        self._ledger.take_outbox()
        return results

    def cancel_all_orders(self, account_id: int, params: Params) -> list[OrderView]:
        """DELETE /fapi/v1/allOpenOrders for one symbol; returns what was cancelled."""
        account = self._account(account_id)
        symbol = symbol_of(params, self._books)
        cancelled = [
            entry.cancel(self._ledger, account, order).view()
            for order in tuple(account.open_orders.values())
            if order.symbol == symbol
        ]
        self._ledger.take_outbox()
        return cancelled

    # queries -------------------------------------------------------------------------------------
    def query_order(self, account_id: int, params: Params) -> OrderView:
        """GET /fapi/v1/order by orderId or origClientOrderId (-2013 if unknown)."""
        account = self._account(account_id)
        ref = parse_order_ref(params, self._books)
        order = account.find_order(ref.symbol, ref.order_id, ref.orig_client_order_id)
        if order is None:
            raise errors.order_does_not_exist()
        return order.view()

    def open_orders(self, account_id: int, symbol: str | None = None) -> list[OrderView]:
        """GET /fapi/v1/openOrders, oldest first (all symbols when `symbol` is None)."""
        account = self._account(account_id)
        if symbol is not None:
            self.spec(symbol)
        return [o.view() for o in account.open_orders.values() if symbol is None or o.symbol == symbol]

    def all_orders(self, account_id: int, params: Params) -> list[OrderView]:
        """GET /fapi/v1/allOrders: symbol, optional orderId (from), startTime, endTime, limit (default 500)."""
        account = self._account(account_id)
        symbol = symbol_of(params, self._books)
        from_id = optional_int(params, "orderId")
        start, end = optional_int(params, "startTime"), optional_int(params, "endTime")
        limit = min(optional_int(params, "limit") or 500, 1000)
        found = [
            o.view()
            for o in account.orders.values()
            if o.symbol == symbol
            and (from_id is None or o.order_id >= from_id)
            and (start is None or o.time_ms >= start)
            and (end is None or o.time_ms <= end)
        ]
        return found[:limit] if from_id is not None else found[-limit:]

    def user_trades(self, account_id: int, params: Params) -> list[UserTrade]:
        """GET /fapi/v1/userTrades: symbol, optional fromId, startTime, endTime, limit (default 500)."""
        account = self._account(account_id)
        symbol = symbol_of(params, self._books)
        from_id = optional_int(params, "fromId")
        start, end = optional_int(params, "startTime"), optional_int(params, "endTime")
        limit = min(optional_int(params, "limit") or 500, 1000)
        found = [
            t
            for t in account.trades
            if t.symbol == symbol
            and (from_id is None or t.trade_id >= from_id)
            and (start is None or t.time_ms >= start)
            and (end is None or t.time_ms <= end)
        ]
        return found[:limit] if from_id is not None else found[-limit:]

    # positions and account -------------------------------------------------------------------------
    def set_leverage(self, account_id: int, symbol: str, leverage: int) -> LeverageChange:
        """POST /fapi/v1/leverage: 1..the bracket's max (-4028 otherwise)."""
        account = self._account(account_id)
        self.spec(symbol)
        brackets = self.config.brackets[symbol]
        if isinstance(leverage, bool) or not isinstance(leverage, int) or not 1 <= leverage <= max_leverage(brackets):
            raise errors.invalid_leverage(leverage)
        account.leverage[symbol] = leverage
        return LeverageChange(symbol, leverage, self._ledger.margin.max_notional(account, symbol))

    def positions(self, account_id: int, symbol: str | None = None, *, active_only: bool = False) -> list[PositionView]:
        """positionRisk rows: every symbol (v2), or with `active_only` those with a position or open orders (v3)."""
        account = self._account(account_id)
        symbols = [symbol] if symbol is not None else [spec.symbol for spec in self.symbols]
        for name in symbols:
            self.spec(name)
        busy = {o.symbol for o in account.open_orders.values()}
        margin = self._ledger.margin
        return [
            margin.position_view(account, account.position(name))
            for name in symbols
            if not active_only or account.position_amount(name) or name in busy
        ]

    def account(self, account_id: int) -> AccountView:
        """Account v2/v3 and balance: wallet, margins, available balance, every symbol's position."""
        account = self._account(account_id)
        return self._ledger.margin.account_view(account, [spec.symbol for spec in self.symbols], self.config.fee_asset)

    def ledger_totals(self, account_id: int) -> dict[str, Decimal]:
        """Wallet and its components (deposits, realized, fees, funding) for audits and tests."""
        account = self._account(account_id)
        return {
            "wallet": account.wallet,
            "deposits": account.deposits,
            "realized": account.realized,
            "fees": account.fees,
            "funding": account.funding,
        }

    def book(self, symbol: str) -> SymbolBook:
        """The symbol's resting orders (read-only by convention; for tests and benchmarks)."""
        self.spec(symbol)
        return self._books[symbol]


def _id_list(params: Params) -> tuple[list[object], bool]:
    for name, by_client_id in (("orderIdList", False), ("origClientOrderIdList", True)):
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        try:
            values = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            raise errors.mandatory_param(name) from None
        if not isinstance(values, list) or not values:
            raise errors.mandatory_param(name)
        if not by_client_id and not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise errors.mandatory_param(name)
        return values, by_client_id
    raise errors.either_param("orderIdList", "origClientOrderIdList")
