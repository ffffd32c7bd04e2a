"""Binance's error vocabulary: one exception type and a constructor per code, with Binance's messages."""

from __future__ import annotations

from decimal import Decimal


class ExchangeError(Exception):
    """An error the exchange answers with `{"code": code, "msg": msg}` and `http_status`.

    `retry_after_s` is set on rate-limit errors; the server turns it into a Retry-After header.
    """

    def __init__(self, code: int, msg: str, http_status: int = 400, retry_after_s: int | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status
        self.retry_after_s = retry_after_s

    def __repr__(self) -> str:
        return f"ExchangeError(code={self.code}, msg={self.msg!r}, http_status={self.http_status})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExchangeError):
            return NotImplemented
        return (self.code, self.msg, self.http_status) == (other.code, other.msg, other.http_status)

    def __hash__(self) -> int:
        return hash((self.code, self.msg, self.http_status))


# Messages follow https://developers.binance.com/docs/derivatives/usds-margined-futures/error-code;
# where the doc gives a template (%s) we fill it as the live exchange does.


def too_many_requests(limit: int, retry_after_s: int) -> ExchangeError:
    msg = (
        f"Too many requests; current limit is {limit} requests per minute. "
        "Please use the websocket for live updates to avoid polling the API."
    )
    return ExchangeError(-1003, msg, 429, retry_after_s)


def ip_banned(until_ms: int, retry_after_s: int) -> ExchangeError:
    msg = f"Way too many requests; IP banned until {until_ms}. Please use the websocket for live updates to avoid bans."
    return ExchangeError(-1003, msg, 418, retry_after_s)


def too_many_orders(limit: int, interval: str, retry_after_s: int) -> ExchangeError:
    msg = f"Too many new orders; current limit is {limit} orders per {interval}."
    return ExchangeError(-1015, msg, 429, retry_after_s)


def timestamp_outside_recv_window() -> ExchangeError:
    return ExchangeError(-1021, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead() -> ExchangeError:
    return ExchangeError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def illegal_chars(param: str, legal_range: str) -> ExchangeError:
    return ExchangeError(-1100, f"Illegal characters found in parameter '{param}'; legal range is '{legal_range}'.")


def mandatory_param(param: str) -> ExchangeError:
    return ExchangeError(-1102, f"Mandatory parameter '{param}' was not sent, was empty/null, or malformed.")


def either_param(first: str, second: str) -> ExchangeError:
    return ExchangeError(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def param_not_required(param: str) -> ExchangeError:
    return ExchangeError(-1106, f"Parameter '{param}' sent when not required.")


def invalid_tif() -> ExchangeError:
    return ExchangeError(-1115, "Invalid timeInForce.")


def invalid_order_type() -> ExchangeError:
    return ExchangeError(-1116, "Invalid orderType.")


def invalid_side() -> ExchangeError:
    return ExchangeError(-1117, "Invalid side.")


def bad_symbol() -> ExchangeError:
    return ExchangeError(-1121, "Invalid symbol.")


def invalid_new_order_resp_type() -> ExchangeError:
    return ExchangeError(-1136, "Invalid newOrderRespType.")


def invalid_parameter(param: str) -> ExchangeError:
    return ExchangeError(-1130, f"Data sent for parameter '{param}' is not valid.")


def filter_failure(filter_type: str) -> ExchangeError:
    # Spot's wording; the futures doc lists -1013 without a message and the issue asks for -1013.
    return ExchangeError(-1013, f"Filter failure: {filter_type}")


def unable_to_fill() -> ExchangeError:
    return ExchangeError(-2020, "Unable to fill.")


def unknown_order() -> ExchangeError:
    return ExchangeError(-2011, "Unknown order sent.")


def order_does_not_exist() -> ExchangeError:
    return ExchangeError(-2013, "Order does not exist.")


def margin_insufficient() -> ExchangeError:
    return ExchangeError(-2019, "Margin is insufficient.")


def would_immediately_trigger() -> ExchangeError:
    return ExchangeError(-2021, "Order would immediately trigger.")


def reduce_only_rejected() -> ExchangeError:
    return ExchangeError(-2022, "ReduceOnly Order is rejected.")


def max_open_orders() -> ExchangeError:
    return ExchangeError(-2025, "Reach max open order limit.")


def max_position_at_leverage() -> ExchangeError:
    return ExchangeError(-2027, "Exceeded the maximum allowable position at current leverage.")


def position_side_mismatch() -> ExchangeError:
    return ExchangeError(-4061, "Order's position side does not match user's setting.")


def bad_client_order_id() -> ExchangeError:
    return ExchangeError(-4015, "Client order id is not valid.")


def invalid_leverage(leverage: object) -> ExchangeError:
    return ExchangeError(-4028, f"Leverage {leverage} is not valid")


def too_many_batch_orders(count: int) -> ExchangeError:
    return ExchangeError(-4082, f"Invalid number of batch place orders: {count}")


def duplicate_client_order_id() -> ExchangeError:
    return ExchangeError(-4116, "clientOrderId is duplicated")


def use_algo_endpoint() -> ExchangeError:
    # Since 2025-12 conditional types moved to POST /fapi/v1/algoOrder (STOP_ORDER_SWITCH_ALGO).
    msg = "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
    return ExchangeError(-4120, msg)


def market_price_outside_percent_price() -> ExchangeError:
    return ExchangeError(-4131, "The counterparty's best price does not meet the PERCENT_PRICE filter limit")


def notional_too_small(min_notional: Decimal) -> ExchangeError:
    msg = f"Order's notional must be no smaller than {min_notional} (unless you choose reduce only)"
    return ExchangeError(-4164, msg)


def fok_rejected() -> ExchangeError:
    return ExchangeError(-5021, "Due to the order could not be filled immediately, the FOK order has been rejected.")


def post_only_rejected() -> ExchangeError:
    msg = "Due to the order could not be executed as maker, the Post Only order will be rejected."
    return ExchangeError(-5022, msg)


def limit_order_only() -> ExchangeError:
    return ExchangeError(-5025, "Only limit order is supported.")


def too_many_modifies() -> ExchangeError:
    return ExchangeError(-5026, "Exceed maximum modify order limit.")


def no_need_to_modify() -> ExchangeError:
    return ExchangeError(-5027, "No need to modify the order.")


def check_recv_window(*, timestamp_ms: int, recv_window_ms: int, now_ms: int) -> None:
    """Binance's timing rule for signed requests; raises -1021 when the request is too old or too new."""
    if timestamp_ms >= now_ms + 1000:
        raise timestamp_ahead()
    if now_ms - timestamp_ms > recv_window_ms:
        raise timestamp_outside_recv_window()
