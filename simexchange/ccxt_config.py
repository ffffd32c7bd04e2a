"""How to point an unmodified ccxt `binanceusdm` at the simulated exchange.

`ccxt_config(base_url, api_key, secret)` returns the constructor dict (REST URL layout and the
websocket base ccxt rewrites into `/public/ws`, `/market/ws`, `/private/ws`).
`copy_linear_error_map(exchange)` must be called on each instance: ccxt picks Binance's futures
error map by the URL host (`https://fapi.binance.com/...`), so against a local URL the futures
codes (-2019, -2021, -4164, -5022, ...) would otherwise raise a plain `ExchangeError`.

Never call `set_sandbox_mode` on such an instance: it replaces the whole `urls["api"]` with testnet's.
This module does not import ccxt; it only builds plain data and edits the instance it is given.
"""

from __future__ import annotations

from typing import Any


def ccxt_config(
    base_url: str, api_key: str | None = None, secret: str | None = None, *, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The `ccxt.pro.binanceusdm(config)` dict for a server at `base_url` (`http://127.0.0.1:PORT`)."""
    base = base_url.rstrip("/")
    ws_base = "ws" + base[len("http") :] if base.startswith("http") else base
    config: dict[str, Any] = {
        "options": {"fetchCurrencies": False, **(options or {})},
        "urls": {
            "api": {
                "fapiPublic": base + "/fapi/v1",
                "fapiPublicV2": base + "/fapi/v2",
                "fapiPublicV3": base + "/fapi/v3",
                "fapiPrivate": base + "/fapi/v1",
                "fapiPrivateV2": base + "/fapi/v2",
                "fapiPrivateV3": base + "/fapi/v3",
                "fapiData": base + "/futures/data",
                "ws": {"linear": ws_base + "/ws"},
            }
        },
    }
    if api_key is not None:
        config["apiKey"] = api_key
    if secret is not None:
        config["secret"] = secret
    return config


def copy_linear_error_map(exchange: Any) -> None:
    """Make Binance's futures error codes raise the classes ccxt raises against the real host.

    Equivalent to `ex.exceptions["exact"].update(ex.exceptions["linear"]["exact"])` (and the same for
    the "broad" message map when present). Call it once per exchange instance, after construction.
    """
    exceptions = exchange.exceptions
    linear = exceptions.get("linear", {})
    exceptions["exact"].update(linear.get("exact", {}))
    if "broad" in linear and "broad" in exceptions:
        exceptions["broad"].update(linear["broad"])
