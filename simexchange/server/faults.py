"""Fault injection: switchable at run time (control endpoint or Python API), scoped by path and count.

Kinds (fields that matter in brackets):
- `latency` [ms]: sleep before handling a matching REST request.
- `drop_response` [hang_ms]: execute, then close the connection without answering (after hang_ms).
- `error_after` [status, code, msg]: execute, then answer an error (default HTTP 503; code -1007 gives 408).
- `error_before` [status, code, msg]: answer an error without executing (e.g. -1015 on order endpoints).
- `rate_limit` [retry_after_s, ban_s]: answer 429/-1003 with Retry-After; a request before Retry-After
  gets 418 (IP ban) with Retry-After = ban_s.
- `reject_orders` [probability, code, msg, status]: reject a share of new orders (also inside batches).
- `clock_skew` [ms]: the server clock runs `ms` ahead (negative: behind); affects /time and -1021 checks.
- `ud_drop`, `ud_duplicate`, `ud_reorder` [account, event, probability]: user-data events are dropped,
  sent twice, or held back and sent after the next event.
- `ws_disconnect` [path, account]: close matching websockets at once (one-shot).
- `listen_key_expired` [account]: expire the listenKey(s) at once and push listenKeyExpired (one-shot).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any

KINDS = frozenset(
    {
        "latency",
        "drop_response",
        "error_after",
        "error_before",
        "rate_limit",
        "reject_orders",
        "clock_skew",
        "ud_drop",
        "ud_duplicate",
        "ud_reorder",
        "ws_disconnect",
        "listen_key_expired",
    }
)


@dataclass(slots=True)
class Fault:
    kind: str
    path: str | None = None  # prefix of the request (or websocket) path; None = every path
    method: str | None = None  # HTTP method; None = every method
    count: int | None = None  # fires this many times, then is removed; None = until cleared
    probability: float = 1.0  # share of matching requests/events it fires on
    ms: int = 0  # latency, clock skew
    hang_ms: int = 0  # drop_response: hold the connection this long before closing it
    status: int | None = None  # HTTP status of error_after/error_before/reject_orders
    code: int | None = None  # Binance error code
    msg: str | None = None
    retry_after_s: int = 10
    ban_s: int = 60
    account: int | None = None  # user-data/websocket faults: only this account id
    event: str | None = None  # user-data faults: only this event type (e.g. ORDER_TRADE_UPDATE)
    id: int = field(default=0)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


FAULT_FIELDS = frozenset(f.name for f in fields(Fault))


def fault_from_dict(data: dict[str, Any]) -> Fault:
    """Build a Fault from control-endpoint JSON; raises ValueError with a readable reason."""
    if not isinstance(data, dict):
        raise ValueError("a fault is a JSON object")
    unknown = set(data) - FAULT_FIELDS
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}")
    _check_types(data)
    fault = Fault(**{k: v for k, v in data.items() if k != "id"})
    if not 0.0 <= fault.probability <= 1.0:
        raise ValueError("probability must be within [0, 1]")
    if fault.count is not None and fault.count < 1:
        raise ValueError("count must be >= 1")
    return fault


_INT_FIELDS = ("count", "ms", "hang_ms", "status", "code", "retry_after_s", "ban_s", "account")
_STR_FIELDS = ("path", "method", "msg", "event")


def _check_types(data: dict[str, Any]) -> None:
    for name in _INT_FIELDS:
        value = data.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"{name} must be an integer")
    for name in _STR_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
    probability = data.get("probability", 1.0)
    if not isinstance(probability, int | float) or isinstance(probability, bool):
        raise ValueError("probability must be a number")


class FaultInjector:
    """The active faults. `take()` answers "does a fault of this kind fire now?" and counts it down."""

    def __init__(self, seed: int = 0) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._rng = random.Random(seed)  # noqa: S311 - deterministic test randomness, not crypto
        self.fired: dict[str, int] = {}

    def add(self, fault: Fault) -> Fault:
        fault.id = next(self._ids)
        self._faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> bool:
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.id != fault_id]
        return len(self._faults) != before

    def clear(self) -> None:
        self._faults.clear()

    def active(self) -> list[Fault]:
        return list(self._faults)

    def take(
        self, kind: str, *, path: str = "", method: str = "", account: int | None = None, event: str = ""
    ) -> Fault | None:
        for fault in self._faults:
            if fault.kind != kind or not _matches(fault, path, method, account, event):
                continue
            if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                continue
            self._count_down(fault)
            self.fired[kind] = self.fired.get(kind, 0) + 1
            return fault
        return None

    def peek(self, kind: str) -> Fault | None:
        """The first active fault of a kind without counting it down (clock skew is a state, not an event)."""
        for fault in self._faults:
            if fault.kind == kind:
                return fault
        return None

    def _count_down(self, fault: Fault) -> None:
        if fault.count is None:
            return
        fault.count -= 1
        if fault.count <= 0:
            self._faults.remove(fault)


def _matches(fault: Fault, path: str, method: str, account: int | None, event: str) -> bool:
    if fault.path is not None and not path.startswith(fault.path):
        return False
    if fault.method is not None and fault.method.upper() != method.upper():
        return False
    if fault.account is not None and fault.account != account:
        return False
    return fault.event is None or fault.event == event
