"""Compact wire form of quotes and marks for Redis pub/sub and the price-cache hash (Decimal as strings)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from trading.marketdata.cache import L1
from trading.venues.base import Mark, Quote

# One-letter keys keep a batch of a few hundred events small; they follow Binance's own stream
# payloads where one exists (b/B/a/A for the book ticker, p/r for mark price and funding rate).
QUOTE_KIND = "q"
MARK_KIND = "m"


HashFields = Mapping[str, str] | Mapping[bytes, bytes] | Mapping[bytes | str, bytes | str]


class CodecError(ValueError):
    """A payload that is not a well-formed quote or mark; the caller skips it and carries on."""


def _money(value: Decimal) -> str:
    if not value.is_finite():
        raise CodecError(f"not a finite price: {value!r}")
    return str(value)  # str(Decimal) round-trips exactly, exponent and trailing zeros included


def _decimal(raw: object) -> Decimal:
    if not isinstance(raw, str):
        raise CodecError(f"a price travels as a string, got {type(raw).__name__}")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise CodecError(f"not a number: {raw!r}") from exc
    if not value.is_finite():
        raise CodecError(f"not a finite number: {raw!r}")
    return value


def _int(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise CodecError(f"not an integer: {raw!r}")
    try:
        return int(raw)
    except ValueError as exc:
        raise CodecError(f"not an integer: {raw!r}") from exc


def _symbol(raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        raise CodecError(f"not a symbol: {raw!r}")
    return raw


def event_to_dict(event: Quote | Mark) -> dict[str, Any]:
    if isinstance(event, Quote):
        return {"e": QUOTE_KIND, "s": event.symbol, "b": _money(event.bid_price), "B": _money(event.bid_size),
                "a": _money(event.ask_price), "A": _money(event.ask_size), "T": event.time_ms}
    return {"e": MARK_KIND, "s": event.symbol, "p": _money(event.mark_price), "r": _money(event.funding_rate),
            "n": event.next_funding_ms, "T": event.time_ms}


def event_from_dict(raw: object) -> Quote | Mark:
    if not isinstance(raw, dict):
        raise CodecError(f"an event is an object, got {type(raw).__name__}")
    try:
        kind = raw["e"]
        if kind == QUOTE_KIND:
            return Quote(_symbol(raw["s"]), _decimal(raw["b"]), _decimal(raw["B"]), _decimal(raw["a"]),
                         _decimal(raw["A"]), _int(raw["T"]))
        if kind == MARK_KIND:
            return Mark(_symbol(raw["s"]), _decimal(raw["p"]), _decimal(raw["r"]), _int(raw["n"]), _int(raw["T"]))
    except KeyError as exc:
        raise CodecError(f"missing field {exc.args[0]!r}") from exc
    raise CodecError(f"unknown event kind {kind!r}")


def encode_batch(events: Iterable[Quote | Mark]) -> bytes:
    """One pub/sub message: a JSON array of events (the publisher coalesces what queued up meanwhile)."""
    return orjson.dumps([event_to_dict(event) for event in events])


def decode_batch(payload: bytes | str) -> list[Quote | Mark]:
    try:
        raw = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise CodecError(f"not JSON: {exc}") from exc
    if not isinstance(raw, list):
        raise CodecError("a batch is a JSON array")
    return [event_from_dict(item) for item in raw]


# The price-cache hash holds one symbol's L1; quote and mark keep their own exchange times.
def l1_to_hash(l1: L1) -> dict[str, str]:
    fields: dict[str, str] = {}
    if l1.quote is not None:
        fields.update(b=_money(l1.quote.bid_price), B=_money(l1.quote.bid_size), a=_money(l1.quote.ask_price),
                      A=_money(l1.quote.ask_size), qT=str(l1.quote.time_ms))
    if l1.mark is not None:
        fields.update(p=_money(l1.mark.mark_price), r=_money(l1.mark.funding_rate), n=str(l1.mark.next_funding_ms),
                      mT=str(l1.mark.time_ms))
    return fields


def l1_from_hash(symbol: str, fields: HashFields) -> L1 | None:
    """The cached L1, or None for an empty hash; CodecError for a malformed one."""
    text = {_text(k): _text(v) for k, v in fields.items()}
    try:
        quote = (Quote(symbol, _decimal(text["b"]), _decimal(text["B"]), _decimal(text["a"]), _decimal(text["A"]),
                       _int(text["qT"])) if "qT" in text else None)
        mark = (Mark(symbol, _decimal(text["p"]), _decimal(text["r"]), _int(text["n"]), _int(text["mT"]))
                if "mT" in text else None)
    except KeyError as exc:
        raise CodecError(f"price hash for {symbol} lacks {exc.args[0]!r}") from exc
    if quote is None and mark is None:
        return None
    return L1(symbol, quote, mark)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
