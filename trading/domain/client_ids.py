"""Client order ids that route fills by prefix: PMS{sub8}_{TYPE}_{id}, at most 32 characters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from core.frozen import quick_init

MAX_LENGTH = 32
PREFIX = "PMS"
SUB_CODE_LENGTH = 8
# 32 - len("PMS") - 8 - len("_") - 3 - len("_")
MAX_UNIQUE_LENGTH = MAX_LENGTH - len(PREFIX) - SUB_CODE_LENGTH - 1 - 3 - 1

BINANCE_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}\Z")
SUB_CODE = re.compile(r"^[a-z0-9]{8}\Z")
UNIQUE_PART = re.compile(rf"^[A-Za-z0-9]{{1,{MAX_UNIQUE_LENGTH}}}\Z")


class OrderOrigin(StrEnum):
    """The TYPE code: which part of PMS placed the order."""

    MKT = "MKT"  # manual market
    LMT = "LMT"  # manual limit
    CHS = "CHS"  # chase
    SCL = "SCL"  # scalper
    TWP = "TWP"  # TWAP
    TRS = "TRS"  # trail stop
    STR = "STR"  # strategy
    RCN = "RCN"  # reconciliation
    ADL = "ADL"  # auto-deleverage by the risk engine: its closes are identifiable on the exchange and in the ledger


_PATTERN = re.compile(
    rf"^{PREFIX}(?P<sub>[a-z0-9]{{{SUB_CODE_LENGTH}}})_(?P<type>[A-Z]{{3}})_(?P<unique>[A-Za-z0-9]{{1,{MAX_UNIQUE_LENGTH}}})\Z"
)


@quick_init
@dataclass(frozen=True, slots=True)
class ClientOrderId:
    sub_account_code: str
    origin: OrderOrigin
    unique: str

    def __str__(self) -> str:
        return f"{PREFIX}{self.sub_account_code}_{self.origin.value}_{self.unique}"


def client_id_make(sub_account_code: str, origin: OrderOrigin, unique: str) -> str:
    """Build an id; refuses parts that could not be parsed back."""
    if not SUB_CODE.match(sub_account_code):
        raise ValueError(f"sub-account code must be 8 characters of a-z0-9, got {sub_account_code!r}")
    if not UNIQUE_PART.match(unique):
        raise ValueError(f"id part must be 1-{MAX_UNIQUE_LENGTH} characters of A-Za-z0-9, got {unique!r}")
    return str(ClientOrderId(sub_account_code, OrderOrigin(origin), unique))


_ORIGIN_CODES = frozenset(origin.value for origin in OrderOrigin)


def client_id_is_ours(client_order_id: str) -> bool:
    """client_id_parse(...) is not None, without building the parts (asked of every order event)."""
    match = _PATTERN.match(client_order_id)
    return match is not None and match["type"] in _ORIGIN_CODES


def client_id_parse(client_order_id: str) -> ClientOrderId | None:
    """The sub-account code and origin of one of our ids; None for anyone else's (manual, autoclose-...)."""
    match = _PATTERN.match(client_order_id)
    if match is None:
        return None
    try:
        origin = OrderOrigin(match["type"])
    except ValueError:
        return None
    return ClientOrderId(match["sub"], origin, match["unique"])


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PAIRS = [high + low for high in _ALPHABET for low in _ALPHABET]  # two digits per division: every order needs an id


def encode_base62(number: int) -> str:
    """Compact id parts: a 64-bit number fits in 11 characters."""
    if number < 0:
        raise ValueError("only non-negative numbers")
    if number < 62:
        return _ALPHABET[number]
    parts = []
    while number >= 3844:
        number, rest = divmod(number, 3844)
        parts.append(_PAIRS[rest])
    parts.append(_PAIRS[number] if number >= 62 else _ALPHABET[number])  # the leading digits, no leading zero
    return "".join(reversed(parts))
