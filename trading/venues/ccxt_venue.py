"""The Venue port over ccxt.pro binanceusdm: the real Binance USD-M API or the simulated exchange.

Every request takes its weight and priority from the shared RequestBudget first. Writes are sent once
(never retried) and always carry our client order id; their outcome is Accepted, Rejected or Ambiguous
(ccxt_errors.py has the table). Reads are retried a bounded number of times with jittered backoff and
raise VenueUnavailable when the exchange cannot be asked. Symbols are Binance ids (BTCUSDT) at the port;
ccxt's unified symbols (BTC/USDT:USDT) never leave this module. A write whose task is cancelled
(CancelledError propagates) may have reached the exchange: the caller treats it as Ambiguous.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import Any

import ccxt

from core.errors import VenueError
from trading.domain.instruments import InstrumentRules
from trading.domain.types import OrderType, Side
from trading.venues import ccxt_parse as parse
from trading.venues.base import (
    Accepted,
    Ambiguous,
    LeverageTier,
    Mark,
    OrderRequest,
    Quote,
    Rejected,
    UserEvent,
    VenueBalance,
    VenueLimits,
    VenueOrder,
    VenuePosition,
    VenueTrade,
    WriteOutcome,
)
from trading.venues.ccxt_client import (
    ACCOUNT,
    ALL_ORDERS,
    AMEND,
    BOOK_TICKER,
    CANCEL,
    CANCEL_BATCH,
    EXCHANGE_INFO,
    LEVERAGE_BRACKET,
    LISTEN_KEY,
    OPEN_ORDERS_ALL,
    OPEN_ORDERS_SYMBOL,
    PLACE,
    POSITIONS,
    QUERY_ORDER,
    USER_TRADES,
    place_batch_endpoint,
)
from trading.venues.ccxt_errors import CallFailed, Failure, item_failure
from trading.venues.ccxt_session import CcxtSession, LocalRefusal
from trading.venues.ccxt_stream import UserStream, quote_stream

BATCH_PLACE_MAX = 5
BATCH_CANCEL_MAX = 10
TRADES_PAGE = 1000


class CcxtVenue(CcxtSession):
    """One exchange account through ccxt, as the Venue port. Close it when done."""

    async def instruments(self) -> list[InstrumentRules]:
        if not await self._ensure_ready():
            await self._load_markets()
        infos = [self._ex.markets[u]["info"] for u in self._unified.values()]
        return [parse.instrument_from_exchange_info(i) for i in infos if i.get("status", "TRADING") == "TRADING"]

    async def limits(self) -> VenueLimits:
        info = await self._checked_read(EXCHANGE_INFO, self._ex.fapiPublicGetExchangeInfo)
        limits = parse.limits_from_exchange_info(info.get("rateLimits", []))
        self.budget.resize(limits)
        return limits

    # --- writes -----------------------------------------------------------------------------------

    def _order_args(self, request: OrderRequest) -> tuple[str, str, str, str, str | None, dict[str, Any]]:
        unified = self._symbol(request.symbol)
        amount = self._exact(unified, request.quantity, self._ex.amount_to_precision, "quantity")
        params: dict[str, Any] = {"newClientOrderId": request.client_order_id}
        if request.reduce_only:
            params["reduceOnly"] = True
        price = None
        if request.order_type is OrderType.LIMIT:
            if request.price is None:
                raise LocalRefusal("a limit order needs a price")
            price = self._exact(unified, request.price, self._ex.price_to_precision, "price")
            params["timeInForce"] = (request.time_in_force.value if request.time_in_force else "GTC")
        return unified, request.order_type.value, request.side.value, amount, price, params

    @staticmethod
    def _exact(unified: str, value: Decimal, to_precision: Callable[[str, str], str], what: str) -> str:
        """ccxt rounds to the market's precision silently; an order must leave exactly as it was recorded."""
        text = format(value, "f")
        try:
            rounded = to_precision(unified, text)
        except ccxt.BaseError as exc:
            raise LocalRefusal(f"{what} {text}: {exc}") from exc
        if Decimal(rounded) != value:
            raise LocalRefusal(f"{what} {text} is not on the exchange's grid (would be sent as {rounded})")
        return text

    async def place(self, request: OrderRequest) -> WriteOutcome:
        try:
            await self._ensure_ready()
            args = self._order_args(request)
            order = await self._write(PLACE, self._ex.create_order, *args)
        except (LocalRefusal, VenueError) as exc:
            return _not_sent(exc)
        except CallFailed as exc:
            return exc.write_outcome()
        return Accepted(parse.order_from_rest(order["info"]))

    async def place_batch(self, requests: Sequence[OrderRequest]) -> list[WriteOutcome]:
        """Up to 5 orders per batchOrders request; each item's outcome on its own, in the given order."""
        try:
            await self._ensure_ready()
        except VenueError as exc:
            return [_not_sent(exc) for _ in requests]
        outcomes: list[WriteOutcome | None] = [None] * len(requests)
        sendable: list[tuple[int, dict[str, Any]]] = []
        for index, request in enumerate(requests):
            try:
                sendable.append((index, self._batch_item(request)))
            except LocalRefusal as exc:
                outcomes[index] = _not_sent(exc)
        chunks = [sendable[i:i + BATCH_PLACE_MAX] for i in range(0, len(sendable), BATCH_PLACE_MAX)]
        results = await asyncio.gather(*(self._send_chunk(chunk, requests) for chunk in chunks))
        for chunk, chunk_outcomes in zip(chunks, results, strict=True):
            for (index, _), outcome in zip(chunk, chunk_outcomes, strict=True):
                outcomes[index] = outcome
        return [o if o is not None else Ambiguous(reason="no answer for this item") for o in outcomes]

    def _batch_item(self, request: OrderRequest) -> dict[str, Any]:
        unified, kind, side, amount, price, params = self._order_args(request)
        try:
            # The same request ccxt's create_orders builds; we send the list ourselves because
            # create_orders re-sorts its parsed result, losing which answer belongs to which order.
            return dict(self._ex.create_order_request(unified, kind, side, amount, price,
                                                      {**params, "isAlgoOrder": False}))
        except ccxt.BaseError as exc:
            raise LocalRefusal(str(exc)) from exc

    async def _send_chunk(self, chunk: list[tuple[int, dict[str, Any]]],
                          requests: Sequence[OrderRequest]) -> list[WriteOutcome]:
        if len(chunk) == 1:  # Binance answers a one-item batch error as a request error: use the plain endpoint
            return [await self.place(requests[chunk[0][0]])]
        try:
            reply = await self._write(place_batch_endpoint(len(chunk)), self._ex.fapiPrivatePostBatchOrders,
                                      {"batchOrders": [item for _, item in chunk]})
        except CallFailed as exc:
            return [exc.write_outcome() for _ in chunk]
        return _item_outcomes(reply, len(chunk))

    async def amend(self, *, symbol: str, client_order_id: str, side: Side, quantity: Decimal,
                    price: Decimal) -> WriteOutcome:
        """PUT /fapi/v1/order by client id: same ids, new price/quantity (LIMIT only; loses queue priority)."""
        try:
            await self._ensure_ready()
            unified = self._symbol(symbol)
            params = {
                "symbol": symbol, "side": side.value.upper(), "origClientOrderId": client_order_id,
                "quantity": self._exact(unified, quantity, self._ex.amount_to_precision, "quantity"),
                "price": self._exact(unified, price, self._ex.price_to_precision, "price"),
            }
            # edit_order would send orderId=None: the port identifies orders by our client id only.
            reply = await self._write(AMEND, self._ex.fapiPrivatePutOrder, params)
        except (LocalRefusal, VenueError) as exc:
            return _not_sent(exc)
        except CallFailed as exc:
            return exc.write_outcome()
        return Accepted(parse.order_from_rest(reply))

    async def cancel(self, *, symbol: str, client_order_id: str) -> WriteOutcome:
        """Accepted with the cancelled order; Rejected(code=-2011) when the exchange does not know it."""
        try:
            await self._ensure_ready()
            unified = self._symbol(symbol)
            order = await self._write(CANCEL, self._ex.cancel_order, None, unified,
                                      {"origClientOrderId": client_order_id})
        except (LocalRefusal, VenueError) as exc:
            return _not_sent(exc)
        except CallFailed as exc:
            return exc.write_outcome()
        return Accepted(parse.order_from_rest(order["info"]))

    async def cancel_batch(self, *, symbol: str, client_order_ids: Sequence[str]) -> list[WriteOutcome]:
        ids = list(client_order_ids)
        chunks = [ids[i:i + BATCH_CANCEL_MAX] for i in range(0, len(ids), BATCH_CANCEL_MAX)]
        results = await asyncio.gather(*(self._cancel_chunk(symbol, chunk) for chunk in chunks))
        return [outcome for chunk_outcomes in results for outcome in chunk_outcomes]

    async def _cancel_chunk(self, symbol: str, ids: list[str]) -> list[WriteOutcome]:
        if len(ids) == 1:
            return [await self.cancel(symbol=symbol, client_order_id=ids[0])]
        try:
            await self._ensure_ready()
            self._symbol(symbol)
            reply = await self._write(CANCEL_BATCH, self._ex.fapiPrivateDeleteBatchOrders,
                                      {"symbol": symbol, "origClientOrderIdList": ids})
        except (LocalRefusal, VenueError) as exc:
            return [_not_sent(exc) for _ in ids]
        except CallFailed as exc:
            return [exc.write_outcome() for _ in ids]
        return _item_outcomes(reply, len(ids))

    # --- reads ------------------------------------------------------------------------------------

    async def fetch_order(self, *, symbol: str, client_order_id: str) -> VenueOrder | None:
        await self._ensure_ready()
        unified = self._symbol_or_reject(symbol)
        try:
            order = await self._read(QUERY_ORDER, self._ex.fetch_order, None, unified,
                                     {"origClientOrderId": client_order_id})
        except CallFailed as exc:
            if exc.kind is Failure.NOT_FOUND:
                return None
            raise exc.read_error() from exc
        return parse.order_from_rest(order["info"])

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        if symbol is None:
            reply = await self._checked_read(OPEN_ORDERS_ALL, self._ex.fapiPrivateGetOpenOrders, {})
        else:
            reply = await self._checked_read(OPEN_ORDERS_SYMBOL, self._ex.fapiPrivateGetOpenOrders,
                                             {"symbol": symbol})
        return [parse.order_from_rest(item) for item in reply]

    async def fetch_quote(self, symbol: str) -> Quote | None:
        """The best bid and ask over REST: the last step of the engine's price cascade."""
        reply = await self._checked_read(BOOK_TICKER, self._ex.fapiPublicGetTickerBookTicker, {"symbol": symbol})
        if not reply or not reply.get("bidPrice"):
            return None
        return Quote(symbol=symbol, bid_price=parse.dec(reply["bidPrice"]), bid_size=parse.dec(reply.get("bidQty")),
                     ask_price=parse.dec(reply["askPrice"]), ask_size=parse.dec(reply.get("askQty")),
                     time_ms=int(reply.get("time") or 0))

    async def positions(self) -> list[VenuePosition]:
        """Non-zero positions only: a symbol absent from the list is flat."""
        reply = await self._checked_read(POSITIONS, self._ex.fapiPrivateV3GetPositionRisk, {})
        found = [parse.position_from_rest(item) for item in reply]
        return [p for p in found if p.quantity != 0]

    async def balances(self) -> list[VenueBalance]:
        reply = await self._checked_read(ACCOUNT, self._ex.fapiPrivateV3GetAccount, {})
        return [parse.balance_from_rest(item) for item in reply.get("assets", [])]

    async def leverage_brackets(self) -> dict[str, list[LeverageTier]]:
        """GET /fapi/v1/leverageBracket (the endpoint ccxt's fetch_leverage_tiers calls), raw for exact cum."""
        reply = await self._checked_read(LEVERAGE_BRACKET, self._ex.fapiPrivateGetLeverageBracket, {})
        items = reply if isinstance(reply, list) else [reply]
        return {str(item["symbol"]): parse.leverage_tiers_from_rest(item) for item in items}

    async def trades_since(self, *, symbol: str, since_ms: int) -> list[VenueTrade]:
        """The account's trades in `symbol` from `since_ms` on, oldest first, each with its client order id."""
        raw = await self._checked_read(USER_TRADES, self._ex.fapiPrivateGetUserTrades,
                                       {"symbol": symbol, "startTime": since_ms, "limit": TRADES_PAGE})
        page = raw
        while len(page) == TRADES_PAGE:
            page = await self._checked_read(USER_TRADES, self._ex.fapiPrivateGetUserTrades,
                                            {"symbol": symbol, "fromId": int(page[-1]["id"]) + 1, "limit": TRADES_PAGE})
            raw = raw + page
        client_ids = await self._client_ids(symbol, raw, since_ms)
        return [parse.trade_from_rest(t, client_ids.get(str(t["orderId"]), "")) for t in raw]

    async def _client_ids(self, symbol: str, trades: list[dict[str, Any]], since_ms: int) -> dict[str, str]:
        """userTrades carries no client id: look the orders up (allOrders, then one by one for the rest)."""
        wanted = {str(t["orderId"]) for t in trades}
        if not wanted:
            return {}
        orders = await self._checked_read(ALL_ORDERS, self._ex.fapiPrivateGetAllOrders,
                                          {"symbol": symbol, "startTime": max(0, since_ms - 86_400_000), "limit": 1000})
        found = {str(o["orderId"]): str(o["clientOrderId"]) for o in orders if str(o["orderId"]) in wanted}
        for order_id in wanted - set(found):
            order = await self._checked_read(QUERY_ORDER, self._ex.fapiPrivateGetOrder,
                                             {"symbol": symbol, "orderId": order_id})
            found[order_id] = str(order["clientOrderId"])
        return found

    # --- streams ----------------------------------------------------------------------------------

    def watch_quotes(self, symbols: Sequence[str]) -> AsyncIterator[Quote | Mark]:
        async def quotes() -> AsyncIterator[Quote | Mark]:
            await self._ensure_ready()
            unified = [self._symbol_or_reject(s) for s in symbols]
            async for item in quote_stream(self._ex, unified, self.config, self._rng):
                yield item

        return quotes()

    def watch_user_events(self) -> AsyncIterator[UserEvent]:
        stream = UserStream(open_key=self._open_listen_key, keep_alive=self._keep_alive_listen_key,
                            url_for=lambda key: str(self._ex.get_private_ws_url("linear", key)),
                            session=self._http, exchange_now_ms=self.budget.now_ms, config=self.config,
                            rng=self._rng)
        return stream.events()

    async def _open_listen_key(self) -> str:
        await self._ensure_ready()  # the clock offset dates StreamResumed.since_ms in exchange time
        reply = await self._read_once(LISTEN_KEY, self._ex.fapiPrivatePostListenKey, {})
        return str(reply["listenKey"])

    async def _keep_alive_listen_key(self, key: str) -> None:
        await self._read(LISTEN_KEY, self._ex.fapiPrivatePutListenKey, {})

def _not_sent(exc: Exception) -> Rejected:
    """Refused before anything reached the exchange (bad symbol or grid, markets unavailable)."""
    retry_s = getattr(exc, "retry_after_s", None)
    return Rejected(reason=f"not sent: {exc}", code=getattr(exc, "code", None),
                    retry_after_ms=int(retry_s * 1000) if retry_s is not None else None)


def _item_outcomes(reply: Any, expected: int) -> list[WriteOutcome]:
    """A batch reply: orders and {"code","msg"} items, in request order."""
    items = reply if isinstance(reply, list) else []
    outcomes: list[WriteOutcome] = []
    for item in items[:expected]:
        if isinstance(item, dict) and "code" in item and "orderId" not in item:
            outcomes.append(item_failure(item.get("code"), str(item.get("msg", ""))).write_outcome())
        else:
            outcomes.append(Accepted(parse.order_from_rest(item)))
    while len(outcomes) < expected:  # a short reply: those orders' fate is unknown
        outcomes.append(Ambiguous(reason="missing from the batch reply"))
    return outcomes
