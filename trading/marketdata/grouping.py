"""Which symbols share a websocket connection: ≤100 symbols (200 streams) each, stable as demand changes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

STREAMS_PER_SYMBOL = 2  # <sym>@bookTicker and <sym>@markPrice@1s
MAX_STREAMS_PER_CONNECTION = 200  # Binance's limit per websocket connection
MAX_SYMBOLS_PER_GROUP = MAX_STREAMS_PER_CONNECTION // STREAMS_PER_SYMBOL

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")


def normalise_symbol(raw: object) -> str | None:
    """`BTCUSDT` from `btcusdt` or ` BTCUSDT `; None for anything that cannot be a USD-M symbol."""
    if not isinstance(raw, str):
        return None
    symbol = raw.strip().upper()
    return symbol if _SYMBOL_RE.match(symbol) else None


def require_symbol(raw: str) -> str:
    """The normalised symbol; ValueError for input that cannot be one (a caller's bug, refused up front)."""
    symbol = normalise_symbol(raw)
    if symbol is None:
        raise ValueError(f"not a symbol: {raw!r}")
    return symbol


def assign_groups(current: Sequence[frozenset[str]], wanted: Iterable[str],
                  max_per_group: int = MAX_SYMBOLS_PER_GROUP) -> list[frozenset[str]]:
    """The new groups, position for position with `current` (a group may come back changed or empty),
    then any new groups. Symbols stay where they are, so a demand change restarts only the groups it touches.
    """
    if max_per_group < 1:
        raise ValueError("a group holds at least one symbol")
    wanted_set = set(wanted)
    groups = [set(group & wanted_set) for group in current]
    placed = set().union(*groups)
    pending = sorted(wanted_set - placed)
    for group in groups:
        room = max_per_group - len(group)
        if room > 0 and pending:
            group.update(pending[:room])
            pending = pending[room:]
    for start in range(0, len(pending), max_per_group):
        groups.append(set(pending[start:start + max_per_group]))
    return [frozenset(group) for group in groups]
