"""Render core objects and market events into Binance USD-M JSON shapes (dicts of str/int/bool as Binance sends).

Pure functions, one module per family: `format` (numbers), `reference` (exchangeInfo, brackets, errors),
`trading` (orders, trades, positions, account, balance) and `streams` (user-data and market payloads).
"""

from simexchange.wire.format import (
    Json,
    Specs,
    fixed,
    plain,
    specs_by_symbol,
)
from simexchange.wire.reference import (
    error,
    exchange_info,
    exchange_symbol,
    leverage_bracket,
    leverage_brackets,
    leverage_change,
    server_time,
)
from simexchange.wire.streams import (
    account_update,
    agg_trade,
    book_ticker,
    book_ticker_rest,
    mark_price_update,
    order_trade_update,
    premium_index,
    trade,
    user_event,
)
from simexchange.wire.trading import (
    account_v2,
    account_v3,
    balance,
    batch_results,
    order,
    orders,
    position_risk_v2,
    position_risk_v3,
    user_trade,
)

__all__ = [
    "Json",
    "Specs",
    "account_update",
    "account_v2",
    "account_v3",
    "agg_trade",
    "balance",
    "batch_results",
    "book_ticker",
    "book_ticker_rest",
    "error",
    "exchange_info",
    "exchange_symbol",
    "fixed",
    "leverage_bracket",
    "leverage_brackets",
    "leverage_change",
    "mark_price_update",
    "order",
    "order_trade_update",
    "orders",
    "plain",
    "position_risk_v2",
    "position_risk_v3",
    "premium_index",
    "server_time",
    "specs_by_symbol",
    "trade",
    "user_event",
    "user_trade",
]
