"""Request parameters as Binance reads them: query string plus form body, typed and validated."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from simexchange.core.errors import (
    ExchangeError,
    bad_client_order_id,
    bad_symbol,
    illegal_chars,
    mandatory_param,
)
from simexchange.core.errors import invalid_parameter as invalid_param
from simexchange.server.errors import too_many_parameters

DECIMAL_PATTERN = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INT_PATTERN = r"^[0-9]{1,20}$"
SYMBOL_PATTERN = r"^[A-Z0-9-_.]{1,20}$"
CLIENT_ID_PATTERN = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
_DECIMAL_RE = re.compile(DECIMAL_PATTERN)
_INT_RE = re.compile(INT_PATTERN)
_SYMBOL_RE = re.compile(SYMBOL_PATTERN)
_CLIENT_ID_RE = re.compile(CLIENT_ID_PATTERN)
MAX_PARAMS = 64


def parse_form(raw: str) -> dict[str, str]:
    """Parse `a=1&b=2`; a repeated key keeps its first value (Binance ignores the rest)."""
    out: dict[str, str] = {}
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_PARAMS * 4)
    except ValueError as exc:
        raise too_many_parameters() from exc
    for key, value in pairs:
        out.setdefault(key, value)
    return out


class Params:
    """Typed access to a request's parameters; query-string values win over body values."""

    def __init__(self, values: Mapping[str, str]):
        if len(values) > MAX_PARAMS:
            raise too_many_parameters()
        self._values = dict(values)

    @classmethod
    def from_parts(cls, query: str, body: str) -> Params:
        merged = parse_form(body) if body else {}
        merged.update(parse_form(query) if query else {})
        return cls(merged)

    def as_dict(self) -> dict[str, str]:
        return dict(self._values)

    def has(self, name: str) -> bool:
        return self._values.get(name, "") != ""

    def raw(self, name: str) -> str | None:
        value = self._values.get(name)
        return None if value is None or value == "" else value

    def text(self, name: str) -> str:
        value = self.raw(name)
        if value is None:
            raise mandatory_param(name)
        return value

    def opt_text(self, name: str) -> str | None:
        return self.raw(name)

    def symbol(self, known: Iterable[str], name: str = "symbol") -> str:
        value = self.text(name)
        return check_symbol(value, known, name)

    def opt_symbol(self, known: Iterable[str], name: str = "symbol") -> str | None:
        value = self.raw(name)
        return None if value is None else check_symbol(value, known, name)

    def decimal(self, name: str) -> Decimal:
        value = self.raw(name)
        if value is None:
            raise mandatory_param(name)
        return parse_decimal(value, name)

    def opt_decimal(self, name: str) -> Decimal | None:
        value = self.raw(name)
        return None if value is None else parse_decimal(value, name)

    def integer(self, name: str) -> int:
        value = self.raw(name)
        if value is None or not _INT_RE.match(value):
            raise mandatory_param(name)
        return int(value)

    def opt_integer(self, name: str) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        if not _INT_RE.match(value):
            raise illegal_chars(name, INT_PATTERN)
        return int(value)

    def opt_bool(self, name: str) -> bool | None:
        value = self.raw(name)
        if value is None:
            return None
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise invalid_param(name)
        return lowered == "true"

    def enum(self, name: str, choices: Iterable[str], error: ExchangeError) -> str:
        value = self.raw(name)
        if value is None:
            raise mandatory_param(name)
        if value not in set(choices):
            raise error
        return value

    def opt_enum(self, name: str, choices: Iterable[str], error: ExchangeError) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        if value not in set(choices):
            raise error
        return value

    def client_id(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        if not _CLIENT_ID_RE.match(value):
            raise bad_client_order_id()
        return value


def parse_decimal(value: str, name: str) -> Decimal:
    if not _DECIMAL_RE.match(value):
        raise illegal_chars(name, DECIMAL_PATTERN)
    try:
        return Decimal(value)
    except InvalidOperation as exc:  # unreachable after the regex, kept as a guard
        raise illegal_chars(name, DECIMAL_PATTERN) from exc


def check_symbol(value: str, known: Iterable[str], name: str = "symbol") -> str:
    if not _SYMBOL_RE.match(value):
        raise illegal_chars(name, SYMBOL_PATTERN)
    if value not in set(known):
        raise bad_symbol()
    return value
