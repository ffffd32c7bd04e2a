"""Benchmark: one position sync and one order sync with 200 sub-accounts × 20 symbols (target ≤ 2 s each).

Run: `python -m pms_site.embedded exec -- python bench/sweep.py [--subs 200 --symbols 20 --rounds 3]`.
Uses a scratch database (created and dropped). The exchange is a static venue whose answers agree with the
books (4,000 positions netted into 20, 4,000 open orders): the figures are PMS's own work per sweep — the
comparison, the database reads and writes, the log row — not the exchange's round trips (one positionRisk
and one openOrders call, each a single REST request on the real venue).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")

import django

django.setup()

from bench.scratch import report, scratch_database  # noqa: E402
from core.money import ZERO  # noqa: E402
from trading.domain.orders import OrderStatus  # noqa: E402
from trading.domain.types import OrderType, Side  # noqa: E402
from trading.models import Order, ReconciliationLog, SubAccount, VirtualPosition  # noqa: E402
from trading.reconciliation.config import ReconConfig  # noqa: E402
from trading.reconciliation.runs import sweep_run  # noqa: E402
from trading.services import subaccount_house  # noqa: E402
from trading.venues.base import VenueOrder, VenuePosition  # noqa: E402

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = ReconConfig(debounce_ms=0)


class StaticVenue:
    """The reads a sweep makes, answered from memory so that the exchange agrees with the books."""

    def __init__(self, positions: list[VenuePosition], orders: list[VenueOrder]) -> None:
        self._positions, self._orders = positions, orders

    async def positions(self) -> list[VenuePosition]:
        return self._positions

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        return self._orders

    async def trades_since(self, *, symbol: str, since_ms: int) -> list[Any]:
        return []

    async def close(self) -> None:
        return None


def seed(subs: int, symbols: int) -> StaticVenue:
    subaccount_house()
    accounts = SubAccount.objects.bulk_create([SubAccount(name=f"bench-{i}", code=f"b{i:07d}") for i in range(subs)])
    names = [f"S{j:03d}USDT" for j in range(symbols)]
    rows, orders, venue_orders = [], [], []
    net = dict.fromkeys(names, ZERO)
    for i, sub in enumerate(accounts):
        for j, symbol in enumerate(names):
            quantity = Decimal((i + j) % 7 - 3) / 100
            net[symbol] += quantity
            rows.append(VirtualPosition(sub_account=sub, symbol=symbol, quantity=quantity,
                                        average_entry=Decimal(100), updated_at=WHEN))
            cid = f"PMS{sub.code}_LMT_{i}x{j}"
            orders.append(Order(client_order_id=cid, sub_account=sub, symbol=symbol, side="buy", order_type="limit",
                                price=Decimal(90), quantity=Decimal("0.01"), status=OrderStatus.NEW.value,
                                origin="LMT", exchange_order_id=str(i * 1000 + j), created_at=WHEN, updated_at=WHEN))
            venue_orders.append(VenueOrder(cid, str(i * 1000 + j), symbol, Side.BUY, OrderType.LIMIT, OrderStatus.NEW,
                                           Decimal("0.01"), price=Decimal(90)))
    VirtualPosition.objects.bulk_create(rows, batch_size=2000)
    Order.objects.bulk_create(orders, batch_size=2000)
    positions = [VenuePosition(symbol, quantity, Decimal(100), Decimal(100)) for symbol, quantity in net.items()
                 if quantity != 0]
    return StaticVenue(positions, venue_orders)


def timed(kind: str, venue: StaticVenue, rounds: int) -> tuple[list[float], str]:
    durations, outcome = [], ""
    for _ in range(rounds):
        start = time.perf_counter()
        log = sweep_run(kind=kind, account="bench", venue_factory=lambda: venue, config=CONFIG,  # type: ignore[arg-type,return-value]
                        publish=lambda *_: None, debounce=False)
        durations.append(time.perf_counter() - start)
        outcome = log.outcome
    return durations, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subs", type=int, default=200)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with scratch_database():
        venue = seed(args.subs, args.symbols)
        position_s, position_outcome = timed(ReconciliationLog.Kind.POSITION_SYNC, venue, args.rounds)
        order_s, order_outcome = timed(ReconciliationLog.Kind.ORDER_SYNC, venue, args.rounds)
        report("sweep", {
            "sub_accounts": args.subs, "symbols": args.symbols, "virtual_positions": args.subs * args.symbols,
            "open_orders": len(venue._orders), "rounds": args.rounds,
            "position_sync_s_median": round(statistics.median(position_s), 3),
            "position_sync_s_max": round(max(position_s), 3), "position_sync_outcome": position_outcome,
            "order_sync_s_median": round(statistics.median(order_s), 3),
            "order_sync_s_max": round(max(order_s), 3), "order_sync_outcome": order_outcome,
            "target_s": 2.0,
        })


if __name__ == "__main__":
    main()
