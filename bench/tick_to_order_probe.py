"""Engine entry point for the tick-to-order benchmark: `manage.py run_engine`, with timestamps on the replace path.

    python bench/tick_to_order_probe.py OUT.json run_engine --metrics-port N

Wraps (in this process only, nothing is edited) the points a chase replace passes: the quote arriving from Redis,
OrderManager.replace, the journal writes, the request budget and the venue calls; on exit writes wall-clock
(CLOCK_REALTIME) ns events and durations to OUT.json so they can be joined with simexchange's trace.
Run without arguments (as `make bench` does) it only prints this text.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

EVENTS: dict[str, list[Any]] = {"quote_received": [], "replace_called": [], "cancel_called": [], "place_called": []}
DURATIONS_NS: dict[str, list[int]] = {}


def _timed(owner: type, name: str, key: str, on_entry: Callable[..., None] | None = None) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if on_entry is not None:
            on_entry(*args, **kwargs)
        started = time.perf_counter_ns()
        try:
            return await original(*args, **kwargs)
        finally:
            DURATIONS_NS.setdefault(key, []).append(time.perf_counter_ns() - started)

    setattr(owner, name, wrapper)


def install() -> None:
    import orjson

    from trading.engine.journal_pg import PostgresJournal
    from trading.engine.order_manager import OrderManager
    from trading.marketdata.service import MarketDataService
    from trading.venues.budget import RequestBudget
    from trading.venues.ccxt_venue import CcxtVenue

    received = MarketDataService.on_redis_message

    def on_redis_message(self: MarketDataService, payload: bytes | str) -> None:
        now = time.time_ns()
        for event in orjson.loads(payload):
            if event.get("e") == "q":
                EVENTS["quote_received"].append((event["s"], event["b"], event["a"], now))
        received(self, payload)

    MarketDataService.on_redis_message = on_redis_message  # type: ignore[method-assign]
    _timed(OrderManager, "replace", "manager.replace", lambda _self, cid, **kw: EVENTS["replace_called"].append(
        (cid, str(kw.get("price")), time.time_ns())))
    _timed(CcxtVenue, "cancel", "venue.cancel", lambda _self, **kw: EVENTS["cancel_called"].append(
        (kw["client_order_id"], time.time_ns())))
    _timed(CcxtVenue, "place", "venue.place", lambda _self, request: EVENTS["place_called"].append(
        (request.client_order_id, time.time_ns())))
    for name in ("order_open", "order_update", "order_update_many", "fill_book"):
        _timed(PostgresJournal, name, f"journal.{name}")
    _timed(RequestBudget, "_reserve", "budget.reserve")
    _timed(RequestBudget, "observe", "budget.observe")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 0
    out, command = Path(argv[0]), argv[1:]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")
    import django
    import orjson
    from django.core.management import execute_from_command_line

    django.setup()
    install()
    try:
        execute_from_command_line(["manage.py", *command])
    finally:
        out.write_bytes(orjson.dumps({"events": EVENTS, "durations_ns": DURATIONS_NS}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
