"""Shared set-up for the matching-core tests: a clock, an engine with one funded account, market helpers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simexchange.core import EngineConfig, MatchingEngine, OrderView
from simexchange.core.events import OrderTradeUpdate, UserEvent
from simexchange.marketdata import BookTicker, MarkPrice, Trade

D = Decimal
START_MS = 1_700_000_000_000
HOUR_MS = 3_600_000


class FakeClock:
    def __init__(self, ms: int = START_MS) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms


class Venue:
    """An engine with one account holding `deposit` USDT, BTCUSDT marked at 50,000 and quoted 49,999.9/50,000.0."""

    def __init__(self, config: EngineConfig | None = None, deposit: str = "10000", *, market: bool = True) -> None:
        self.clock = FakeClock()
        self.engine = MatchingEngine(config, clock=self.clock)
        self.account = self.engine.create_account(api_key="key-1", secret="secret-1", deposit=D(deposit))
        self.engine.events.drain()
        self._update_id = 0
        if market:
            self.mark("50000")
            self.quote("49999.9", "50000.0")

    def quote(
        self, bid: str, ask: str, bid_qty: str = "5", ask_qty: str = "5", symbol: str = "BTCUSDT"
    ) -> tuple[UserEvent, ...]:
        self._update_id += 1
        now = self.clock()
        ticker = BookTicker(symbol, self._update_id, D(bid), D(bid_qty), D(ask), D(ask_qty), now, now)
        return tuple(self.engine.on_book_ticker(ticker))

    def trade(self, price: str, qty: str, symbol: str = "BTCUSDT") -> tuple[UserEvent, ...]:
        self._update_id += 1
        now = self.clock()
        return tuple(self.engine.on_trade(Trade(symbol, self._update_id, D(price), D(qty), False, now, now)))

    def mark(
        self, price: str, rate: str = "0.0001", next_funding_ms: int | None = None, symbol: str = "BTCUSDT"
    ) -> tuple[UserEvent, ...]:
        now = self.clock()
        due = next_funding_ms if next_funding_ms is not None else now + 8 * HOUR_MS
        event = MarkPrice(symbol, D(price), D(price), D(price), D(rate), due, now)
        return tuple(self.engine.on_mark_price(event))

    def limit(self, side: str, qty: str, price: str, tif: str = "GTC", **extra: Any) -> OrderView:
        params = {
            "symbol": "BTCUSDT",
            "side": side,
            "type": "LIMIT",
            "timeInForce": tif,
            "quantity": qty,
            "price": price,
        }
        return self.engine.new_order(self.account, {**params, **extra})

    def market(self, side: str, qty: str, **extra: Any) -> OrderView:
        params = {"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": qty}
        return self.engine.new_order(self.account, {**params, **extra})

    def order(self, order_id: int, symbol: str = "BTCUSDT") -> OrderView:
        return self.engine.query_order(self.account, {"symbol": symbol, "orderId": order_id})

    def position_amt(self, symbol: str = "BTCUSDT") -> Decimal:
        return self.engine.positions(self.account, symbol)[0].position_amt

    def wallet(self) -> Decimal:
        return self.engine.account(self.account).wallet_balance

    def fills(self) -> list[OrderTradeUpdate]:
        return [e for e in self.engine.events.drain() if isinstance(e, OrderTradeUpdate) and e.trade_id]

    def state(self) -> tuple[object, ...]:
        """Everything a rejected request must leave untouched."""
        engine, account = self.engine, self.account
        return (
            engine.open_orders(account),
            engine.all_orders(account, {"symbol": "BTCUSDT"}),
            engine.positions(account),
            engine.ledger_totals(account),
            engine.user_trades(account, {"symbol": "BTCUSDT"}),
            len(engine.book("BTCUSDT").buys),
            len(engine.book("BTCUSDT").sells),
        )
