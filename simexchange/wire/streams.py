"""Stream payloads: user-data events (ORDER_TRADE_UPDATE, ACCOUNT_UPDATE) and market streams and tickers."""

from __future__ import annotations

from simexchange.core.events import AccountUpdate, OrderTradeUpdate
from simexchange.core.symbols import SymbolSpec
from simexchange.marketdata import BookTicker, MarkPrice, Trade
from simexchange.wire.format import Json, Specs, avg_text, money_text, price_text, qty_text


def order_trade_update(event: OrderTradeUpdate, spec: SymbolSpec) -> Json:
    """ORDER_TRADE_UPDATE; N and n appear only with a commission, as Binance documents."""
    view = event.order
    body: Json = {
        "s": view.symbol,
        "c": view.client_order_id,
        "S": view.side,
        "o": view.order_type,
        "f": view.time_in_force,
        "q": qty_text(view.orig_qty, spec),
        "p": price_text(view.price, spec),
        "ap": avg_text(view, spec),
        "sp": price_text(view.stop_price, spec),
        "x": event.execution_type,
        "X": view.status,
        "i": view.order_id,
        "l": qty_text(event.last_filled_qty, spec),
        "z": qty_text(view.executed_qty, spec),
        "L": price_text(event.last_filled_price, spec),
    }
    if event.commission_asset is not None:
        body["N"] = event.commission_asset
        body["n"] = money_text(event.commission)
    body.update(
        {
            "T": event.transaction_time_ms,
            "t": event.trade_id,
            "b": money_text(event.bids_notional),
            "a": money_text(event.asks_notional),
            "m": event.is_maker,
            "R": view.reduce_only,
            "wt": view.working_type,
            "ot": view.orig_type,
            "ps": view.position_side,
            "cp": view.close_position,
            "pP": view.price_protect,
            "si": 0,
            "ss": 0,
            "rp": money_text(event.realized_profit),
            "V": view.self_trade_prevention_mode,
            "pm": view.price_match,
            "gtd": view.good_till_date,
        }
    )
    return {"e": "ORDER_TRADE_UPDATE", "E": event.event_time_ms, "T": event.transaction_time_ms, "o": body}


def account_update(event: AccountUpdate, specs: Specs) -> Json:
    """ACCOUNT_UPDATE with the changed balances ("B") and positions ("P")."""
    balances = [
        {
            "a": b.asset,
            "wb": money_text(b.wallet_balance),
            "cw": money_text(b.cross_wallet_balance),
            "bc": money_text(b.balance_change),
        }
        for b in event.balances
    ]
    positions = [
        {
            "s": p.symbol,
            "pa": qty_text(p.position_amt, specs[p.symbol]),
            "ep": money_text(p.entry_price),
            "bep": money_text(p.break_even_price),
            "cr": money_text(p.accumulated_realized),
            "up": money_text(p.unrealized_pnl),
            "mt": p.margin_type,
            "iw": money_text(p.isolated_wallet),
            "ps": p.position_side,
        }
        for p in event.positions
    ]
    return {
        "e": "ACCOUNT_UPDATE",
        "E": event.event_time_ms,
        "T": event.transaction_time_ms,
        "a": {"m": event.reason, "B": balances, "P": positions},
    }


def user_event(event: OrderTradeUpdate | AccountUpdate, specs: Specs) -> Json:
    """Either user-data event, rendered."""
    if isinstance(event, OrderTradeUpdate):
        return order_trade_update(event, specs[event.order.symbol])
    return account_update(event, specs)


def book_ticker(ticker: BookTicker, spec: SymbolSpec) -> Json:
    """`<sym>@bookTicker` payload (fields as in live captures)."""
    return {
        "e": "bookTicker",
        "u": ticker.update_id,
        "s": ticker.symbol,
        "b": price_text(ticker.bid_price, spec),
        "B": qty_text(ticker.bid_qty, spec),
        "a": price_text(ticker.ask_price, spec),
        "A": qty_text(ticker.ask_qty, spec),
        "T": ticker.transaction_time_ms,
        "E": ticker.event_time_ms,
    }


def book_ticker_rest(ticker: BookTicker, spec: SymbolSpec) -> Json:
    """GET /fapi/v1/ticker/bookTicker for one symbol."""
    return {
        "symbol": ticker.symbol,
        "bidPrice": price_text(ticker.bid_price, spec),
        "bidQty": qty_text(ticker.bid_qty, spec),
        "askPrice": price_text(ticker.ask_price, spec),
        "askQty": qty_text(ticker.ask_qty, spec),
        "time": ticker.transaction_time_ms,
    }


def mark_price_update(mark: MarkPrice) -> Json:
    """`<sym>@markPrice@1s` payload."""
    return {
        "e": "markPriceUpdate",
        "E": mark.event_time_ms,
        "s": mark.symbol,
        "p": money_text(mark.mark_price),
        "P": money_text(mark.estimated_settle_price),
        "i": money_text(mark.index_price),
        "r": money_text(mark.funding_rate),
        "T": mark.next_funding_time_ms,
    }


def premium_index(mark: MarkPrice) -> Json:
    """GET /fapi/v1/premiumIndex for one symbol."""
    return {
        "symbol": mark.symbol,
        "markPrice": money_text(mark.mark_price),
        "indexPrice": money_text(mark.index_price),
        "estimatedSettlePrice": money_text(mark.estimated_settle_price),
        "lastFundingRate": money_text(mark.funding_rate),
        "nextFundingTime": mark.next_funding_time_ms,
        "interestRate": "0.00010000",
        "time": mark.event_time_ms,
    }


def trade(event: Trade, spec: SymbolSpec) -> Json:
    """`<sym>@trade` payload."""
    return {
        "e": "trade",
        "E": event.event_time_ms,
        "T": event.trade_time_ms,
        "s": event.symbol,
        "t": event.trade_id,
        "p": price_text(event.price, spec),
        "q": qty_text(event.quantity, spec),
        "X": "MARKET",
        "m": event.buyer_is_maker,
    }


def agg_trade(event: Trade, spec: SymbolSpec) -> Json:
    """`<sym>@aggTrade` payload: each print is its own aggregate (a = f = l = the trade id)."""
    return {
        "e": "aggTrade",
        "E": event.event_time_ms,
        "a": event.trade_id,
        "s": event.symbol,
        "p": price_text(event.price, spec),
        "q": qty_text(event.quantity, spec),
        "f": event.trade_id,
        "l": event.trade_id,
        "T": event.trade_time_ms,
        "m": event.buyer_is_maker,
    }
