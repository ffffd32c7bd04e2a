"""Classify a failed ccxt call by what reached the exchange: rejected, ambiguous, not sent, rate limited.

The Binance code and the HTTP status decide, not the ccxt class alone: against a local URL ccxt
raises a plain ExchangeError for futures codes, a 5xx carrying a JSON body is raised from the body's
code, and a connection reset after the request left looks like "exchange not available".

| answer | write outcome | read |
| --- | --- | --- |
| 4xx with a code (-2019, -4164, -5022, -4116, -2022, -1013, ...) | Rejected(code) | VenueRejected |
| -2011 / -2013 unknown order | Rejected(code) | caller decides (fetch_order → None) |
| 429 / -1003 / -1015, 418 | Rejected(code, retry_after_ms), budget paused | VenueUnavailable(retry_after_s) |
| -1021 / -5028 timestamp | Rejected(code), clock resynced | resync, retried |
| 5xx, 408, -1000/-1001/-1006/-1007/-1008, timeout, reset | Ambiguous | VenueUnavailable, retried |
| connection refused, or refused by ccxt before sending | Rejected(code=None) | VenueUnavailable, retried |
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from typing import Any

import aiohttp
import ccxt

from core.errors import VenueError, VenueRejected, VenueUnavailable
from trading.venues.base import Ambiguous, Rejected


class Failure(Enum):
    REJECTED = "rejected"  # the exchange refused it: final
    NOT_SENT = "not_sent"  # it never reached the exchange (connect refused, refused locally)
    AMBIGUOUS = "ambiguous"  # it may have been executed
    RATE_LIMITED = "rate_limited"  # 429 / -1003 / -1015: not processed, pause
    BANNED = "banned"  # 418: not processed, IP banned until Retry-After
    CLOCK = "clock"  # -1021 / -5028: our timestamp was outside the window; not processed
    NOT_FOUND = "not_found"  # -2011 / -2013


AMBIGUOUS_CODES = frozenset({-1000, -1001, -1006, -1007, -1008})
RATE_CODES = frozenset({-1003, -1015})
CLOCK_CODES = frozenset({-1021, -5028})
NOT_FOUND_CODES = frozenset({-2011, -2013})
_CODE_IN_TEXT = re.compile(r'"code"\s*:\s*(-?\d+)')


@dataclass(slots=True)
class Capture:
    """The HTTP answer to the request this task is making, recorded by the ccxt subclass's hook."""

    status: int | None = None
    headers: dict[str, str] | None = None
    code: int | None = None
    msg: str | None = None

    def record(self, status: int | None, headers: Any, response: Any) -> None:
        self.status = status
        self.headers = {str(k): str(v) for k, v in dict(headers or {}).items()}
        self.code, self.msg = None, None
        if isinstance(response, dict) and "code" in response:
            self.code = _int_or_none(response.get("code"))
            self.msg = str(response.get("msg", ""))

    def retry_after_ms(self) -> int | None:
        for name, value in (self.headers or {}).items():
            if name.lower() == "retry-after":
                seconds = _int_or_none(value)
                return seconds * 1000 if seconds is not None else None
        return None


CAPTURE: ContextVar[Capture | None] = ContextVar("pms_ccxt_capture", default=None)


class CallFailed(Exception):
    """A ccxt call that did not return a result, classified."""

    def __init__(self, kind: Failure, reason: str, *, code: int | None = None, status: int | None = None,
                 retry_after_ms: int | None = None) -> None:
        super().__init__(f"{kind.value}: {reason}" + (f" (code {code})" if code is not None else ""))
        self.kind = kind
        self.reason = reason
        self.code = code
        self.status = status
        self.retry_after_ms = retry_after_ms

    def write_outcome(self) -> Rejected | Ambiguous:
        if self.kind is Failure.AMBIGUOUS:
            return Ambiguous(reason=self.reason, code=self.code)
        return Rejected(reason=self.reason, code=self.code, retry_after_ms=self.retry_after_ms)

    def read_error(self) -> VenueError:
        if self.kind in (Failure.REJECTED, Failure.NOT_FOUND):
            return VenueRejected(self.reason, code=self.code)
        retry_s = self.retry_after_ms / 1000 if self.retry_after_ms is not None else None
        return VenueUnavailable(self.reason, code=self.code if self.code is not None else self.status,
                                retry_after_s=retry_s)


def classify(exc: BaseException, capture: Capture) -> CallFailed:
    """What this exception means for the request that raised it."""
    status = capture.status
    code = capture.code if capture.code is not None else _code_in(str(exc))
    reason = capture.msg or _short(exc)
    kind = _kind_from_answer(status, code) if status is not None else _kind_without_answer(exc, code)
    retry_after = capture.retry_after_ms() if kind in (Failure.RATE_LIMITED, Failure.BANNED) else None
    return CallFailed(kind, reason, code=code, status=status, retry_after_ms=retry_after)


def _kind_from_answer(status: int, code: int | None) -> Failure:
    """The exchange answered: its status and code say whether the request was processed."""
    if status == 418:
        return Failure.BANNED
    if status == 429 or code in RATE_CODES:
        return Failure.RATE_LIMITED
    if code in NOT_FOUND_CODES:
        return Failure.NOT_FOUND
    if code in CLOCK_CODES:
        return Failure.CLOCK
    if code in AMBIGUOUS_CODES or status >= 500 or status == 408:
        return Failure.AMBIGUOUS
    if code is not None or 400 <= status < 500:
        return Failure.REJECTED
    # A 2xx that ccxt could not turn into a result: the request was processed, its result unknown.
    return Failure.AMBIGUOUS


def _kind_without_answer(exc: BaseException, code: int | None) -> Failure:
    """No HTTP answer: either it never left, or it left and the answer was lost."""
    if code in RATE_CODES:  # a websocket-side or synthetic error with a Binance code
        return Failure.RATE_LIMITED
    if isinstance(exc, ccxt.NetworkError | aiohttp.ClientError | TimeoutError | OSError):
        cause = exc.__cause__ or exc
        if isinstance(cause, aiohttp.ClientConnectorError | ConnectionRefusedError):
            return Failure.NOT_SENT
        return Failure.AMBIGUOUS
    if isinstance(exc, ccxt.BaseError):
        return Failure.NOT_SENT  # ccxt refused the arguments before building a request
    return Failure.AMBIGUOUS


def _code_in(text: str) -> int | None:
    match = _CODE_IN_TEXT.search(text)
    return int(match.group(1)) if match else None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def item_failure(code: Any, msg: str) -> CallFailed:
    """One failed item of a batch reply (the batch itself was answered with 200)."""
    parsed = _int_or_none(code)
    return CallFailed(_kind_from_answer(400, parsed), msg or "rejected", code=parsed)
