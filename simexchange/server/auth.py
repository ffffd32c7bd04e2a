"""API-key format, HMAC-SHA256 signatures and the timestamp/recvWindow check, as Binance applies them."""

from __future__ import annotations

import hashlib
import hmac
import re

from simexchange.core.errors import check_recv_window, illegal_chars, mandatory_param
from simexchange.server.errors import bad_api_key_format, bad_recv_window, bad_signature

API_KEY_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,128}$")
_SIGNATURE_PARAM = re.compile(r"(^|&)signature=([^&]*)")
_INT_RE = re.compile(r"^[0-9]{1,20}$")
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000


def check_key_format(header_value: str | None) -> str:
    """-2014 when the X-MBX-APIKEY header is missing or malformed (-2015 for unknown keys is the caller's)."""
    if not header_value or not API_KEY_RE.match(header_value):
        raise bad_api_key_format()
    return header_value


def split_signature(raw_query: str, raw_body: str) -> tuple[str, str | None]:
    """Return (totalParams without the signature, the signature) — totalParams = query + body."""
    signature: str | None = None
    parts: list[str] = []
    for part in (raw_query, raw_body):
        match = _SIGNATURE_PARAM.search(part)
        if match is not None and signature is None:
            signature = match.group(2)
            part = part[: match.start()] + part[match.end() :]
            if part.startswith("&"):
                part = part[1:]
        parts.append(part)
    return "".join(parts), signature


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def verify_signature(secret: str, raw_query: str, raw_body: str) -> None:
    payload, signature = split_signature(raw_query, raw_body)
    if not signature:
        raise mandatory_param("signature")
    expected = sign(secret, payload)
    if not hmac.compare_digest(expected, signature.lower()):
        raise bad_signature()


def check_timestamp(timestamp: str | None, recv_window: str | None, server_now_ms: int) -> None:
    """Binance's rule: timestamp <= now + 1000 and now - timestamp <= recvWindow (default 5000, max 60000)."""
    if timestamp is None or not _INT_RE.match(timestamp):
        raise mandatory_param("timestamp")
    window = DEFAULT_RECV_WINDOW_MS
    if recv_window is not None and recv_window != "":
        if not _INT_RE.match(recv_window):
            raise illegal_chars("recvWindow", "^[0-9]{1,20}$")
        window = int(recv_window)
        if window > MAX_RECV_WINDOW_MS or window <= 0:
            raise bad_recv_window()
    check_recv_window(timestamp_ms=int(timestamp), recv_window_ms=window, now_ms=server_now_ms)
