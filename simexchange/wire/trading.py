"""Account replies: orders, batch results, user trades, positionRisk v2/v3, account v2/v3 and balance."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from simexchange.core.accounts import UserTrade
from simexchange.core.errors import ExchangeError
from simexchange.core.margin import AccountView, PositionView
from simexchange.core.orders import OrderView
from simexchange.core.symbols import SymbolSpec
from simexchange.wire.format import Json, Specs, avg_text, money_text, plain, price_text, qty_text, quote_text
from simexchange.wire.reference import error


def order(view: OrderView, spec: SymbolSpec) -> Json:
    """An order as POST/PUT/DELETE /fapi/v1/order (RESULT), GET order, openOrders and allOrders show it."""
    return {
        "orderId": view.order_id,
        "symbol": view.symbol,
        "status": view.status,
        "clientOrderId": view.client_order_id,
        "price": price_text(view.price, spec),
        "avgPrice": avg_text(view, spec),
        "origQty": qty_text(view.orig_qty, spec),
        "executedQty": qty_text(view.executed_qty, spec),
        "cumQuote": quote_text(view.cum_quote, spec),
        "timeInForce": view.time_in_force,
        "type": view.order_type,
        "reduceOnly": view.reduce_only,
        "closePosition": view.close_position,
        "side": view.side,
        "positionSide": view.position_side,
        "stopPrice": price_text(view.stop_price, spec),
        "workingType": view.working_type,
        "priceProtect": view.price_protect,
        "origType": view.orig_type,
        "priceMatch": view.price_match,
        "selfTradePreventionMode": view.self_trade_prevention_mode,
        "goodTillDate": view.good_till_date,
        "time": view.time_ms,
        "updateTime": view.update_time_ms,
    }


def orders(views: Iterable[OrderView], specs: Specs) -> list[Json]:
    """openOrders/allOrders rows."""
    return [order(view, specs[view.symbol]) for view in views]


def batch_results(results: Iterable[OrderView | ExchangeError], specs: Specs) -> list[Json]:
    """POST/DELETE /fapi/v1/batchOrders: orders and {"code","msg"} items in request order."""
    return [error(item) if isinstance(item, ExchangeError) else order(item, specs[item.symbol]) for item in results]


def user_trade(trade: UserTrade, spec: SymbolSpec) -> Json:
    """One row of GET /fapi/v1/userTrades."""
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "side": trade.side,
        "price": price_text(trade.price, spec),
        "qty": qty_text(trade.qty, spec),
        "realizedPnl": money_text(trade.realized_pnl),
        "marginAsset": spec.margin_asset,
        "quoteQty": quote_text(trade.quote_qty, spec),
        "commission": money_text(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time_ms,
        "positionSide": trade.position_side,
        "buyer": trade.buyer,
        "maker": trade.maker,
    }


def position_risk_v2(view: PositionView, spec: SymbolSpec) -> Json:
    """One row of GET /fapi/v2/positionRisk (cross margin, one-way)."""
    return {
        "symbol": view.symbol,
        "positionAmt": qty_text(view.position_amt, spec),
        "entryPrice": money_text(view.entry_price),
        "markPrice": money_text(view.mark_price),
        "unRealizedProfit": money_text(view.unrealized_pnl),
        "liquidationPrice": money_text(view.liquidation_price),
        "leverage": str(view.leverage),
        "maxNotionalValue": plain(view.max_notional),
        "marginType": "cross",
        "isolatedMargin": money_text(Decimal(0)),
        "isAutoAddMargin": "false",
        "positionSide": view.position_side,
        "notional": money_text(view.notional),
        "isolatedWallet": "0",
        "updateTime": view.update_time_ms,
        "breakEvenPrice": money_text(view.break_even_price),
    }


def position_risk_v3(view: PositionView, spec: SymbolSpec) -> Json:
    """One row of GET /fapi/v3/positionRisk."""
    return {
        "symbol": view.symbol,
        "positionSide": view.position_side,
        "positionAmt": qty_text(view.position_amt, spec),
        "entryPrice": money_text(view.entry_price),
        "breakEvenPrice": money_text(view.break_even_price),
        "markPrice": money_text(view.mark_price),
        "unRealizedProfit": money_text(view.unrealized_pnl),
        "liquidationPrice": money_text(view.liquidation_price),
        "isolatedMargin": "0",
        "notional": money_text(view.notional),
        "marginAsset": view.margin_asset,
        "isolatedWallet": "0",
        "initialMargin": money_text(view.initial_margin),
        "maintMargin": money_text(view.maint_margin),
        "positionInitialMargin": money_text(view.position_initial_margin),
        "openOrderInitialMargin": money_text(view.open_order_initial_margin),
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": view.update_time_ms,
    }


def _totals(view: AccountView) -> Json:
    return {
        "totalInitialMargin": money_text(view.initial_margin),
        "totalMaintMargin": money_text(view.maint_margin),
        "totalWalletBalance": money_text(view.wallet_balance),
        "totalUnrealizedProfit": money_text(view.unrealized_pnl),
        "totalMarginBalance": money_text(view.margin_balance),
        "totalPositionInitialMargin": money_text(view.position_initial_margin),
        "totalOpenOrderInitialMargin": money_text(view.open_order_initial_margin),
        "totalCrossWalletBalance": money_text(view.wallet_balance),
        "totalCrossUnPnl": money_text(view.unrealized_pnl),
        "availableBalance": money_text(view.available_balance),
        "maxWithdrawAmount": money_text(view.max_withdraw_amount),
    }


def _asset(view: AccountView) -> Json:
    return {
        "asset": view.asset,
        "walletBalance": money_text(view.wallet_balance),
        "unrealizedProfit": money_text(view.unrealized_pnl),
        "marginBalance": money_text(view.margin_balance),
        "maintMargin": money_text(view.maint_margin),
        "initialMargin": money_text(view.initial_margin),
        "positionInitialMargin": money_text(view.position_initial_margin),
        "openOrderInitialMargin": money_text(view.open_order_initial_margin),
        "crossWalletBalance": money_text(view.wallet_balance),
        "crossUnPnl": money_text(view.unrealized_pnl),
        "availableBalance": money_text(view.available_balance),
        "maxWithdrawAmount": money_text(view.max_withdraw_amount),
        "marginAvailable": True,
        "updateTime": view.update_time_ms,
    }


def _account_position_v2(view: PositionView, spec: SymbolSpec) -> Json:
    return {
        "symbol": view.symbol,
        "initialMargin": money_text(view.initial_margin),
        "maintMargin": money_text(view.maint_margin),
        "unrealizedProfit": money_text(view.unrealized_pnl),
        "positionInitialMargin": money_text(view.position_initial_margin),
        "openOrderInitialMargin": money_text(view.open_order_initial_margin),
        "leverage": str(view.leverage),
        "isolated": view.isolated,
        "entryPrice": money_text(view.entry_price),
        "maxNotional": plain(view.max_notional),
        "bidNotional": "0",
        "askNotional": "0",
        "positionSide": view.position_side,
        "positionAmt": qty_text(view.position_amt, spec),
        "updateTime": view.update_time_ms,
    }


def _account_position_v3(view: PositionView, spec: SymbolSpec) -> Json:
    return {
        "symbol": view.symbol,
        "positionSide": view.position_side,
        "positionAmt": qty_text(view.position_amt, spec),
        "unrealizedProfit": money_text(view.unrealized_pnl),
        "isolatedMargin": "0",
        "notional": money_text(view.notional),
        "isolatedWallet": "0",
        "initialMargin": money_text(view.initial_margin),
        "maintMargin": money_text(view.maint_margin),
        "updateTime": view.update_time_ms,
    }


def account_v2(view: AccountView, specs: Specs) -> Json:
    """GET /fapi/v2/account: totals, the USDT asset and every symbol's position."""
    head = {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
    }
    positions = [_account_position_v2(p, specs[p.symbol]) for p in view.positions]
    return {**head, **_totals(view), "assets": [_asset(view)], "positions": positions}


def account_v3(view: AccountView, specs: Specs) -> Json:
    """GET /fapi/v3/account: like v2, but only symbols with a position are listed."""
    positions = [_account_position_v3(p, specs[p.symbol]) for p in view.positions if p.position_amt]
    return {**_totals(view), "assets": [_asset(view)], "positions": positions}


def balance(view: AccountView) -> list[Json]:
    """GET /fapi/v2/balance and /fapi/v3/balance (same shape)."""
    return [
        {
            "accountAlias": view.alias,
            "asset": view.asset,
            "balance": money_text(view.wallet_balance),
            "crossWalletBalance": money_text(view.wallet_balance),
            "crossUnPnl": money_text(view.unrealized_pnl),
            "availableBalance": money_text(view.available_balance),
            "maxWithdrawAmount": money_text(view.max_withdraw_amount),
            "marginAvailable": True,
            "updateTime": view.update_time_ms,
        }
    ]
