"""What the database holds for a sweep: Σ virtual positions, exchange snapshots, and recent activity."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Max, Sum

from core.clock import datetime_to_ms
from core.money import ZERO
from trading.domain.orders import OrderStatus
from trading.models import ExchangePosition, Fill, Order, ReconciliationLog, VirtualPosition
from trading.venues.base import VenuePosition

LIVE_STATUSES = [status.value for status in OrderStatus if status.is_live]
IN_FLIGHT_STATUSES = [OrderStatus.PENDING_SUBMIT.value, OrderStatus.UNKNOWN.value, OrderStatus.CANCEL_PENDING.value]


def virtual_net() -> dict[str, Decimal]:
    """Σ of every sub-account's position per symbol (zero sums included: they matter when the exchange is not)."""
    rows = VirtualPosition.objects.values("symbol").annotate(net=Sum("quantity")).values_list("symbol", "net")
    return {symbol: net or ZERO for symbol, net in rows}


def virtual_net_of(symbol: str) -> Decimal:
    return VirtualPosition.objects.filter(symbol=symbol).aggregate(net=Sum("quantity"))["net"] or ZERO


def last_fill_id(symbol: str | None = None) -> int:
    fills = Fill.objects.all() if symbol is None else Fill.objects.filter(symbol=symbol)
    return fills.aggregate(last=Max("id"))["last"] or 0


def exchange_positions_store(*, account: str, positions: Iterable[VenuePosition], at: datetime) -> None:
    """Keep the exchange's own view (one row per symbol; flat symbols are stored flat, not deleted)."""
    reported = {p.symbol: p for p in positions}
    for symbol in set(ExchangePosition.objects.filter(account=account).exclude(quantity=0)
                      .values_list("symbol", flat=True)) - set(reported):
        reported[symbol] = VenuePosition(symbol, ZERO, ZERO)
    rows = [ExchangePosition(account=account, symbol=p.symbol, quantity=p.quantity, entry_price=p.entry_price,
                             mark_price=p.mark_price, unrealized_pnl=p.unrealized_pnl, snapshot_at=at)
            for p in reported.values()]
    ExchangePosition.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["account", "symbol"],
        update_fields=["quantity", "entry_price", "mark_price", "unrealized_pnl", "snapshot_at"])


def symbol_activity(*, symbol: str, now: datetime, activity_ms: int, in_flight_ms: int) -> str | None:
    """Why a difference in `symbol` may be explained by orders the engine is still handling; None if nothing."""
    orders = Order.objects.filter(symbol=symbol, status__in=LIVE_STATUSES)
    if orders.filter(updated_at__gte=now - timedelta(milliseconds=activity_ms)).exists():
        return "an order changed in the activity window"
    if orders.filter(status__in=IN_FLIGHT_STATUSES,
                     updated_at__gte=now - timedelta(milliseconds=in_flight_ms)).exists():
        return "an order is in flight"
    if Fill.objects.filter(symbol=symbol, booked_at__gte=now - timedelta(milliseconds=activity_ms)).exists():
        return "a fill was booked in the activity window"
    return None


def trades_since_ms(*, account: str, symbol: str, now_ms: int, lookback_ms: int, margin_ms: int) -> int:
    """From when to read userTrades: the last position sync that found `symbol` settled, else the lookback."""
    settled = (ReconciliationLog.objects
               .filter(account=account, kind=ReconciliationLog.Kind.POSITION_SYNC,
                       outcome__in=[ReconciliationLog.Outcome.MATCHED, ReconciliationLog.Outcome.ACTED,
                                    ReconciliationLog.Outcome.TOLERATED])
               .exclude(compared__unresolved__contains=[symbol])
               .order_by("-started_at").values_list("started_at", flat=True).first())
    floor = now_ms - lookback_ms
    if settled is None:
        return max(0, floor)
    return max(floor, datetime_to_ms(settled) - margin_ms)
