"""The server layer's Binance errors: the core's ExchangeError plus the codes only HTTP/auth produce."""

from __future__ import annotations

from simexchange.core.errors import ExchangeError


def error_body(code: int, msg: str) -> dict[str, object]:
    return {"code": code, "msg": msg}


def unknown_error() -> ExchangeError:
    return ExchangeError(-1000, "An unknown error occured while processing the request.", 500)


def bad_api_key_format() -> ExchangeError:
    return ExchangeError(-2014, "API-key format invalid.", 401)


def rejected_api_key() -> ExchangeError:
    return ExchangeError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def bad_signature() -> ExchangeError:
    return ExchangeError(-1022, "Signature for this request is not valid.")


def bad_recv_window() -> ExchangeError:
    return ExchangeError(-1131, "recvWindow must be less than 60000")


def unknown_listen_key() -> ExchangeError:
    return ExchangeError(-1125, "This listenKey does not exist.")


def too_many_parameters() -> ExchangeError:
    return ExchangeError(-1101, "Too many parameters sent for this endpoint.")


def backend_timeout() -> ExchangeError:
    msg = "Timeout waiting for response from backend server. Send status unknown; execution status unknown."
    return ExchangeError(-1007, msg, 408)


def service_unavailable(status: int = 503) -> ExchangeError:
    return ExchangeError(-1001, "Internal error; unable to process your request. Please try again.", status)


def overloaded() -> ExchangeError:
    msg = "Server is currently overloaded with other requests. Please try again in a few minutes."
    return ExchangeError(-1008, msg, 503)


def invalid_path(path: str, method: str) -> ExchangeError:
    return ExchangeError(-5000, f"Path {path}, Method {method} is invalid", 404)
