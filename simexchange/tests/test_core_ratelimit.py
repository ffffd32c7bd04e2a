"""Order-rate limits per account, request weight per IP, and the recvWindow check."""

from __future__ import annotations

import pytest

from simexchange.core import EngineConfig, ExchangeError, RateLimitConfig, RateLimiter, check_recv_window
from simexchange.tests.test_core_support import FakeClock, Venue

SMALL = RateLimitConfig(request_weight_per_minute=10, orders_per_10s=3, orders_per_minute=5, ban_after_violations=2)


def _venue() -> Venue:
    venue = Venue(EngineConfig(rate_limits=SMALL), deposit="100000")
    venue.clock.ms -= venue.clock.ms % 60_000  # start at a window boundary
    return venue


def _place(venue: Venue) -> None:
    venue.limit("BUY", "0.010", "49000.0")


def test_the_order_past_the_ten_second_limit_is_refused_with_1015_and_429() -> None:
    venue = _venue()
    for _ in range(3):
        _place(venue)
    with pytest.raises(ExchangeError) as caught:
        _place(venue)
    assert (caught.value.code, caught.value.http_status) == (-1015, 429)
    assert caught.value.msg == "Too many new orders; current limit is 3 orders per TEN_SECONDS."
    assert len(venue.engine.open_orders(venue.account)) == 3


def test_orders_are_accepted_again_in_the_next_ten_second_window() -> None:
    venue = _venue()
    for _ in range(3):
        _place(venue)
    venue.clock.advance(10_000)
    _place(venue)
    assert len(venue.engine.open_orders(venue.account)) == 4


def test_the_minute_limit_holds_across_ten_second_windows() -> None:
    venue = _venue()
    for window in range(2):
        for _ in range(3 if window == 0 else 2):
            _place(venue)
        venue.clock.advance(10_000)
    with pytest.raises(ExchangeError) as caught:
        _place(venue)
    assert "5 orders per ONE_MINUTE" in caught.value.msg


def test_a_cancel_does_not_count_against_the_order_limits() -> None:
    venue = _venue()
    orders = [venue.limit("BUY", "0.010", "49000.0") for _ in range(3)]
    for order in orders:
        venue.engine.cancel_order(venue.account, {"symbol": "BTCUSDT", "orderId": order.order_id})
    assert venue.engine.rate_limiter.used(account_id=venue.account).order_count_10s == 3


def test_a_modify_counts_against_the_order_limits() -> None:
    venue = _venue()
    order = venue.limit("BUY", "0.010", "49000.0")
    params = {"symbol": "BTCUSDT", "orderId": order.order_id, "side": "BUY", "quantity": "0.010", "price": "49001.0"}
    venue.engine.modify_order(venue.account, params)
    assert venue.engine.rate_limiter.used(account_id=venue.account).order_count_10s == 2


def test_an_order_rejected_for_bad_parameters_is_not_counted() -> None:
    venue = _venue()
    with pytest.raises(ExchangeError):
        venue.engine.new_order(venue.account, {"symbol": "BTCUSDT"})
    assert venue.engine.rate_limiter.used(account_id=venue.account).order_count_10s == 0


def _limiter() -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock(1_700_000_020_000)  # 40 s into a minute
    return RateLimiter(SMALL, clock), clock


def test_request_weight_is_counted_per_ip_and_reported_for_the_headers() -> None:
    limiter, _ = _limiter()
    limiter.charge_request("10.0.0.1", 4)
    limiter.charge_request("10.0.0.1", 2)
    limiter.charge_request("10.0.0.2", 1)
    assert limiter.used("10.0.0.1").headers()["X-MBX-USED-WEIGHT-1M"] == "6"


def test_exceeding_the_request_weight_answers_1003_with_429_and_retry_after() -> None:
    limiter, _ = _limiter()
    limiter.charge_request("10.0.0.1", 10)
    with pytest.raises(ExchangeError) as caught:
        limiter.charge_request("10.0.0.1", 1)
    assert (caught.value.code, caught.value.http_status, caught.value.retry_after_s) == (-1003, 429, 20)


def test_continuing_after_429s_gets_the_ip_banned_with_418() -> None:
    limiter, _ = _limiter()
    limiter.charge_request("10.0.0.1", 10)
    statuses = []
    for _ in range(4):
        try:
            limiter.charge_request("10.0.0.1", 1)
        except ExchangeError as error:
            statuses.append(error.http_status)
    assert statuses == [429, 429, 418, 418]


def test_a_ban_ends_after_its_duration() -> None:
    limiter, clock = _limiter()
    limiter.charge_request("10.0.0.1", 10)
    for _ in range(3):
        with pytest.raises(ExchangeError):
            limiter.charge_request("10.0.0.1", 1)
    clock.advance(SMALL.ban_seconds * 1000)
    assert limiter.charge_request("10.0.0.1", 1) == 1


def test_the_weight_window_resets_each_minute() -> None:
    limiter, clock = _limiter()
    limiter.charge_request("10.0.0.1", 10)
    clock.advance(20_000)
    assert limiter.charge_request("10.0.0.1", 3) == 3


def test_a_request_older_than_the_recv_window_is_rejected_with_1021() -> None:
    with pytest.raises(ExchangeError) as caught:
        check_recv_window(timestamp_ms=1_000, recv_window_ms=5_000, now_ms=6_001)
    assert (caught.value.code, caught.value.msg) == (-1021, "Timestamp for this request is outside of the recvWindow.")


def test_a_request_from_a_second_in_the_future_is_rejected_with_1021() -> None:
    with pytest.raises(ExchangeError) as caught:
        check_recv_window(timestamp_ms=7_000, recv_window_ms=5_000, now_ms=6_000)
    assert caught.value.msg == "Timestamp for this request was 1000ms ahead of the server's time."


def test_a_request_inside_the_recv_window_passes() -> None:
    check_recv_window(timestamp_ms=1_000, recv_window_ms=5_000, now_ms=6_000)
