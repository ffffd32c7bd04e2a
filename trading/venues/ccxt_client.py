"""The ccxt.pro binanceusdm client we trade through: configuration, URLs, and the response hook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ccxt.pro as ccxtpro

from trading.venues.budget import Priority
from trading.venues.ccxt_errors import CAPTURE


@dataclass(frozen=True, slots=True)
class VenueConfig:
    """How to reach one exchange account and how patiently."""

    account: str = "main"
    api_key: str = ""
    secret: str = ""
    base_url: str | None = None  # None: the real Binance hosts; else a simulated exchange "http://127.0.0.1:PORT"
    timeout_ms: int = 10_000
    recv_window_ms: int = 5_000  # small: a delayed request is refused rather than executed late
    read_attempts: int = 3
    read_backoff_ms: int = 200
    read_backoff_cap_ms: int = 2_000
    stream_backoff_ms: int = 500
    stream_backoff_cap_ms: int = 30_000
    listen_key_keepalive_s: float = 1_200.0  # Binance keys live 60 min; ccxt also renews every 20
    ws_heartbeat_s: float = 30.0  # ping the user stream; a dead TCP connection is noticed within 1.5x this
    time_resync_ms: int = 600_000
    clock_skew_alert_ms: int = 1_000


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What one request costs from the shared budget (Binance weights; orders count the order windows)."""

    name: str
    priority: Priority
    weight: int
    orders: int = 0


P = Priority
TIME = Endpoint("GET /fapi/v1/time", P.RECONCILE, 1)
EXCHANGE_INFO = Endpoint("GET /fapi/v1/exchangeInfo", P.RECONCILE, 1)
PLACE = Endpoint("POST /fapi/v1/order", P.NEW_ORDER, 0, orders=1)
AMEND = Endpoint("PUT /fapi/v1/order", P.NEW_ORDER, 1, orders=1)
CANCEL = Endpoint("DELETE /fapi/v1/order", P.CANCEL, 1)
CANCEL_BATCH = Endpoint("DELETE /fapi/v1/batchOrders", P.CANCEL, 1)
QUERY_ORDER = Endpoint("GET /fapi/v1/order", P.RECONCILE, 1)
OPEN_ORDERS_SYMBOL = Endpoint("GET /fapi/v1/openOrders?symbol", P.RECONCILE, 1)
OPEN_ORDERS_ALL = Endpoint("GET /fapi/v1/openOrders", P.RECONCILE, 40)
ALL_ORDERS = Endpoint("GET /fapi/v1/allOrders", P.RECONCILE, 5)
USER_TRADES = Endpoint("GET /fapi/v1/userTrades", P.RECONCILE, 5)
POSITIONS = Endpoint("GET /fapi/v3/positionRisk", P.RECONCILE, 5)
BOOK_TICKER = Endpoint("GET /fapi/v1/ticker/bookTicker?symbol", P.RECONCILE, 2)
ACCOUNT = Endpoint("GET /fapi/v3/account", P.RECONCILE, 5)
LEVERAGE_BRACKET = Endpoint("GET /fapi/v1/leverageBracket", P.RECONCILE, 1)
LISTEN_KEY = Endpoint("POST/PUT /fapi/v1/listenKey", P.RECONCILE, 1)


def place_batch_endpoint(count: int) -> Endpoint:
    return Endpoint("POST /fapi/v1/batchOrders", P.NEW_ORDER, 5, orders=count)


class PmsBinanceUsdm(ccxtpro.binanceusdm):
    """binanceusdm that tells the calling task what the exchange answered (status, headers, code).

    ccxt keeps `last_response_headers` on the instance, which concurrent requests overwrite; the hook
    writes into a per-task Capture instead, so each request's usage headers and Retry-After are its own.
    """

    def handle_errors(self, code: Any, reason: Any, url: Any, method: Any, headers: Any, body: Any, response: Any,
                      request_headers: Any, request_body: Any) -> Any:
        capture = CAPTURE.get()
        if capture is not None and isinstance(url, str) and url.startswith("http"):
            capture.record(code, headers, response)
        return super().handle_errors(code, reason, url, method, headers, body, response, request_headers,
                                     request_body)


def exchange_options(config: VenueConfig) -> dict[str, Any]:
    """The ccxt constructor dict: keys, options, and (for a simulated exchange) Binance's URL layout."""
    options: dict[str, Any] = {
        "fetchCurrencies": False,  # else load_markets also calls two spot /sapi endpoints
        "recvWindow": config.recv_window_ms,
        "warnOnFetchOpenOrdersWithoutSymbol": False,
        "timeDifference": 0,
    }
    params: dict[str, Any] = {
        "apiKey": config.api_key,
        "secret": config.secret,
        "timeout": config.timeout_ms,
        "enableRateLimit": False,  # the shared RequestBudget paces requests; ccxt's throttle would only add delay
        "options": options,
    }
    if config.base_url is not None:
        base = config.base_url.rstrip("/")
        ws_base = "ws" + base[len("http"):] if base.startswith("http") else base
        params["urls"] = {"api": {
            "fapiPublic": base + "/fapi/v1", "fapiPublicV2": base + "/fapi/v2", "fapiPublicV3": base + "/fapi/v3",
            "fapiPrivate": base + "/fapi/v1", "fapiPrivateV2": base + "/fapi/v2",
            "fapiPrivateV3": base + "/fapi/v3", "fapiData": base + "/futures/data",
            "ws": {"linear": ws_base + "/ws"},
        }}
    return params


def build_exchange(config: VenueConfig) -> Any:
    """A client for the configured host. Never `set_sandbox_mode`: it would replace the URLs above."""
    exchange = PmsBinanceUsdm(exchange_options(config))
    if config.base_url is not None:
        # ccxt picks its futures error map by host; a local URL would raise plain ExchangeError.
        exceptions = exchange.exceptions
        exceptions["exact"].update(exceptions["linear"]["exact"])
        if "broad" in exceptions["linear"]:
            exceptions["broad"].update(exceptions["linear"]["broad"])
    return exchange
