"""Runner state to and from JSON-safe dicts: Decimals as strings, None kept, nothing else converted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def undec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def undec0(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)
