"""The error map: which failures are final, ambiguous, not sent, or rate limited (no network)."""

from __future__ import annotations

import ccxt
import pytest

from core.errors import VenueRejected, VenueUnavailable
from trading.venues.base import Ambiguous, Rejected
from trading.venues.ccxt_errors import Capture, Failure, classify, item_failure


def answered(status: int, code: int | None = None, msg: str = "", headers: dict[str, str] | None = None) -> Capture:
    capture = Capture()
    body = {"code": code, "msg": msg} if code is not None else None
    capture.record(status, headers or {}, body)
    return capture


@pytest.mark.parametrize(("status", "code", "kind"), [
    (400, -2019, Failure.REJECTED),
    (400, -4164, Failure.REJECTED),
    (400, -5022, Failure.REJECTED),
    (400, -4116, Failure.REJECTED),
    (400, -2022, Failure.REJECTED),
    (400, -1013, Failure.REJECTED),
    (400, -2011, Failure.NOT_FOUND),
    (400, -2013, Failure.NOT_FOUND),
    (400, -1021, Failure.CLOCK),
    (400, -1015, Failure.RATE_LIMITED),
    (429, -1003, Failure.RATE_LIMITED),
    (418, -1003, Failure.BANNED),
    (408, -1007, Failure.AMBIGUOUS),
    (503, -1001, Failure.AMBIGUOUS),
    (502, None, Failure.AMBIGUOUS),
    (400, -1000, Failure.AMBIGUOUS),
    (200, None, Failure.AMBIGUOUS),
], ids=lambda v: str(v))
def test_an_answered_request_is_classified_by_status_and_binance_code(status: int, code: int | None,
                                                                      kind: Failure) -> None:
    failure = classify(ccxt.ExchangeError("binanceusdm {}"), answered(status, code, "msg"))

    assert failure.kind is kind and failure.code == code


def test_retry_after_is_kept_for_a_rate_limit() -> None:
    failure = classify(ccxt.DDoSProtection("429"), answered(429, -1003, "Too many", {"Retry-After": "7"}))

    outcome = failure.write_outcome()
    assert isinstance(outcome, Rejected) and outcome.code == -1003 and outcome.retry_after_ms == 7_000
    error = failure.read_error()
    assert isinstance(error, VenueUnavailable) and error.retry_after_s == 7


def test_the_code_is_read_from_the_message_when_no_body_was_captured() -> None:
    failure = classify(ccxt.InsufficientFunds('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}'),
                       answered(400))

    assert failure.code == -2019 and failure.kind is Failure.REJECTED


def test_a_timeout_without_an_answer_is_ambiguous() -> None:
    failure = classify(ccxt.RequestTimeout("binanceusdm POST"), Capture())

    assert failure.kind is Failure.AMBIGUOUS and isinstance(failure.write_outcome(), Ambiguous)


def test_a_reset_connection_after_sending_is_ambiguous() -> None:
    error = ccxt.ExchangeNotAvailable("binanceusdm POST")
    error.__cause__ = ConnectionResetError("reset by peer")

    assert classify(error, Capture()).kind is Failure.AMBIGUOUS


def test_a_refused_connection_was_not_sent_and_is_rejected() -> None:
    error = ccxt.ExchangeNotAvailable("binanceusdm POST")
    error.__cause__ = ConnectionRefusedError("refused")

    failure = classify(error, Capture())

    assert failure.kind is Failure.NOT_SENT
    assert isinstance(failure.write_outcome(), Rejected) and isinstance(failure.read_error(), VenueUnavailable)


def test_arguments_ccxt_refuses_before_sending_are_not_sent() -> None:
    assert classify(ccxt.InvalidOrder("amount must be greater"), Capture()).kind is Failure.NOT_SENT


def test_a_final_read_error_is_venue_rejected() -> None:
    error = classify(ccxt.BadSymbol("x"), answered(400, -1121, "Invalid symbol.")).read_error()

    assert isinstance(error, VenueRejected) and error.code == -1121


def test_batch_items_are_classified_like_requests() -> None:
    assert item_failure(-4164, "notional").kind is Failure.REJECTED
    assert item_failure("-1015", "too many").kind is Failure.RATE_LIMITED
    assert item_failure(-1007, "timeout").kind is Failure.AMBIGUOUS
