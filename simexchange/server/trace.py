"""Opt-in latency trace for benchmarks: wall-clock ns of each bookTicker written to a socket and of each order request.

Off by default (`--trace` or `POST /_sim/trace {"enabled": true}` turns it on); while off it costs one
attribute check per message. Times are CLOCK_REALTIME (`time.time_ns()`), so another process on the same
host can compare them with its own. The counters of error answers (by HTTP status and Binance code) are
always kept: they are how a benchmark proves there was no -1015, -1003 or 429.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

MAX_RECORDS = 1_000_000  # per kind; a trace that outgrows this stops recording rather than eat memory
ORDER_PATHS = frozenset({"/fapi/v1/order", "/fapi/v1/batchOrders"})


@dataclass(slots=True)
class LatencyTrace:
    enabled: bool = False
    # (symbol, update id, bid, ask) -> ns the first socket write of that bookTicker finished
    quotes: dict[tuple[str, int, str, str], int] = field(default_factory=dict)
    # one row per order request: method, path, symbol, side, price, client ids, arrival/answer ns, outcome
    requests: list[dict[str, Any]] = field(default_factory=list)
    error_answers: dict[str, int] = field(default_factory=dict)  # "429/-1003" -> count

    def clear(self) -> None:
        self.quotes.clear()
        self.requests.clear()
        self.error_answers.clear()

    def market_sent(self, text: str) -> None:
        """A market-stream message has just been written to a websocket."""
        if not self.enabled or '"bookTicker"' not in text or len(self.quotes) >= MAX_RECORDS:
            return
        sent_ns = time.time_ns()
        payload = orjson.loads(text)
        data = payload.get("data", payload)
        key = (str(data["s"]), int(data["u"]), str(data["b"]), str(data["a"]))
        self.quotes.setdefault(key, sent_ns)

    def answered(self, *, method: str, path: str, params: dict[str, str], status: int, body: bytes,
                 arrived_ns: int) -> None:
        """One REST request answered: count its error codes; with the trace on, record an order or cancel."""
        if status >= 400 or path == "/fapi/v1/batchOrders":
            self._count_errors(status, body)
        if not self.enabled or method == "GET" or path not in ORDER_PATHS or len(self.requests) >= MAX_RECORDS:
            return
        self.requests.append({
            "method": method, "path": path, "symbol": params.get("symbol"), "side": params.get("side"),
            "price": params.get("price"), "client_order_id": params.get("newClientOrderId"),
            "orig_client_order_id": params.get("origClientOrderId"), "arrived_ns": arrived_ns,
            "answered_ns": time.time_ns(), "status": status, "code": _code_of(body) if status >= 400 else None,
        })

    def _count_errors(self, status: int, body: bytes) -> None:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return
        # a batch answers 200 with one item per order, some of which may be errors
        items = payload if isinstance(payload, list) else [payload]
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("code"), int) and item["code"] < 0:
                key = f"{status}/{item['code']}"
                self.error_answers[key] = self.error_answers.get(key, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "quotes": [[*key, ns] for key, ns in self.quotes.items()],
            "requests": self.requests,
            "error_answers": dict(self.error_answers),
        }


def _code_of(body: bytes) -> int | None:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    code = payload.get("code") if isinstance(payload, dict) else None
    return code if isinstance(code, int) else None
