"""The error vocabulary: user messages, codes, and the three kinds of venue failure."""

from __future__ import annotations

from core.errors import AppError, NotFound, VenueAmbiguous, VenueError, VenueRejected, VenueUnavailable


def test_an_app_error_carries_its_user_message_and_default_code() -> None:
    error = AppError("sub-account alpha is closed")

    assert str(error) == "sub-account alpha is closed"
    assert error.user_message == "sub-account alpha is closed"
    assert error.code == "invalid"
    assert error.detail == {}


def test_an_app_error_code_can_be_given_per_instance_without_changing_the_class() -> None:
    error = AppError("frozen", code="sub_account_frozen", detail={"sub_account": "alpha"})

    assert error.code == "sub_account_frozen"
    assert error.detail == {"sub_account": "alpha"}
    assert AppError.code == "invalid"


def test_not_found_is_an_app_error_with_its_own_code() -> None:
    error = NotFound("unknown symbol 'XYZUSDT'")

    assert isinstance(error, AppError)
    assert error.code == "not_found"


def test_a_venue_error_message_starts_with_the_exchange_code() -> None:
    error = VenueRejected("Order would immediately trigger.", code=-2021)

    assert str(error) == "-2021: Order would immediately trigger."
    assert error.reason == "Order would immediately trigger."
    assert error.code == -2021


def test_a_venue_error_without_a_code_is_just_the_reason() -> None:
    assert str(VenueAmbiguous("timeout after 10s")) == "timeout after 10s"


def test_an_unavailable_venue_says_when_to_retry() -> None:
    error = VenueUnavailable("rate limited", code=-1003, retry_after_s=2.5)

    assert isinstance(error, VenueError)
    assert error.retry_after_s == 2.5
    assert error.code == -1003
