"""Order sync: the exchange's open orders against the orders open in the database.

- A PMS-prefixed order open on the exchange with no live owner (no row, a finished row, or a finished algo)
  is cancelled as an orphan. Orders of other clients are not ours to cancel: they are reported.
- An order open in the database but absent on the exchange for N syncs in a row is resolved by a targeted
  query by client id (filled → its fills booked, then the state; canceled/expired → marked; not found →
  rejected, it never reached the exchange). Ambiguous (`unknown`) orders are queried at once. Orders
  touched in the last few seconds are left to the engine.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.clock import SYSTEM_CLOCK, Clock, datetime_to_ms
from core.errors import NotFound, VenueError
from trading.domain.client_ids import client_id_parse
from trading.domain.orders import OrderStatus, OrderUpdate
from trading.domain.types import OrderType, Side
from trading.events import Publisher, event_publish
from trading.models import AlgoRun, Order
from trading.reconciliation.config import ReconConfig
from trading.reconciliation.misses import MissCounter
from trading.reconciliation.record import RunRecord
from trading.reconciliation.session import VenueSession
from trading.reconciliation.state import LIVE_STATUSES
from trading.reconciliation.trades import Routing, routing_load, trades_book
from trading.services.orders import order_apply_update
from trading.venues.base import Accepted, Ambiguous, VenueOrder

LIVE_ALGO_STATUSES = {AlgoRun.Status.PENDING, AlgoRun.Status.RUNNING, AlgoRun.Status.PAUSED}
NOT_FOUND_STATUS = {OrderStatus.PENDING_SUBMIT: OrderStatus.REJECTED, OrderStatus.UNKNOWN: OrderStatus.REJECTED}


def orders_sync(
    *, session: VenueSession, account: str, run: RunRecord, config: ReconConfig, misses: MissCounter,
    clock: Clock = SYSTEM_CLOCK, publish: Publisher = event_publish,
) -> None:
    routing = routing_load()
    on_exchange = {o.client_order_id: o for o in session.call(lambda venue: venue.open_orders())}
    now = clock.now()  # the database is read after the exchange: a row is committed before its order leaves
    rows = {o.client_order_id: o for o in Order.objects.filter(client_order_id__in=list(on_exchange))
            .select_related("algo_run")}
    open_rows = list(Order.objects.filter(status__in=LIVE_STATUSES).exclude(client_order_id__in=list(on_exchange)))
    run.compared = {"exchange_open": len(on_exchange), "database_open_absent": len(open_rows),
                    "database_known": len(rows)}
    for client_order_id, venue_order in sorted(on_exchange.items()):
        _check_open(venue_order, rows.get(client_order_id), session=session, run=run, routing=routing, now=now,
                    config=config, clock=clock)
    present = [cid for cid, row in rows.items() if row.status in LIVE_STATUSES]
    misses.clear(present)
    for row in open_rows:
        if row.updated_at >= now - timedelta(milliseconds=config.activity_ms):
            continue  # the engine is on it
        ambiguous = row.status == OrderStatus.UNKNOWN
        count = misses.add(row.client_order_id)
        if not ambiguous and count < config.missing_order_misses:
            run.tolerate(kind="order_missing", client_order_id=row.client_order_id, misses=count)
            continue
        if _resolve(row, session=session, run=run, routing=routing, clock=clock, publish=publish, config=config):
            misses.clear([row.client_order_id])


def _has_live_owner(row: Order | None, routing: Routing) -> bool:
    if row is None or OrderStatus(row.status).is_terminal or row.sub_account_id not in routing.sub_account_ids:
        return False
    return row.algo_run is None or row.algo_run.status in LIVE_ALGO_STATUSES


def _check_open(venue_order: VenueOrder, row: Order | None, *, session: VenueSession, run: RunRecord,
                routing: Routing, now: datetime, config: ReconConfig, clock: Clock) -> None:
    cid = venue_order.client_order_id
    if client_id_parse(cid) is None:
        run.find(kind="foreign_open_order", client_order_id=cid, symbol=venue_order.symbol)
        return
    if _has_live_owner(row, routing):
        assert row is not None  # noqa: S101 - an owner has a row
        if row.status != venue_order.status.value and row.updated_at < now - timedelta(milliseconds=config.activity_ms):
            _fold(row, venue_order, run=run, clock=clock)  # e.g. an unknown order proven open
        return
    if row is not None and row.updated_at >= now - timedelta(milliseconds=config.activity_ms):
        return  # just finished by the engine: the exchange's list may predate it
    run.find(kind="orphan_order", client_order_id=cid, symbol=venue_order.symbol,
             reason="no row" if row is None else f"owner finished ({row.status}"
             f"{', algo ' + row.algo_run.status if row.algo_run else ''})")
    outcome = session.call(lambda venue: venue.cancel(symbol=venue_order.symbol, client_order_id=cid))
    result = "cancelled" if isinstance(outcome, Accepted) else (
        "unknown" if isinstance(outcome, Ambiguous) else f"refused: {outcome.reason}")
    run.act(action="orphan_cancel", client_order_id=cid, symbol=venue_order.symbol, result=result)
    run.alert(kind="orphan_order", client_order_id=cid, symbol=venue_order.symbol,
              message=f"{cid} on {venue_order.symbol} had no live owner: cancel {result}")


def _fold(row: Order, venue_order: VenueOrder, *, run: RunRecord, clock: Clock, reject_reason: str = "") -> None:
    update = OrderUpdate(venue_order.status, venue_order.filled_quantity, venue_order.average_price)
    try:
        changed = order_apply_update(client_order_id=row.client_order_id, update=update,
                                     exchange_order_id=venue_order.exchange_order_id or None,
                                     reject_reason=reject_reason, clock=clock)
    except NotFound:
        return
    if changed is not None:
        run.act(action="order_state", client_order_id=row.client_order_id, status=changed.status,
                filled=changed.filled_quantity)


def _resolve(row: Order, *, session: VenueSession, run: RunRecord, routing: Routing, clock: Clock,
             publish: Publisher, config: ReconConfig) -> bool:
    """Ask the exchange about one order by client id and bring the row (and its fills) up to date."""
    cid = row.client_order_id
    try:
        venue_order = session.call(lambda venue: venue.fetch_order(symbol=row.symbol, client_order_id=cid))
    except VenueError as exc:
        run.find(kind="order_unresolved", client_order_id=cid, reason=str(exc))
        return False
    if venue_order is None:
        status = NOT_FOUND_STATUS.get(OrderStatus(row.status), OrderStatus.EXPIRED)
        run.find(kind="order_not_on_exchange", client_order_id=cid, was=row.status)
        absent = VenueOrder(cid, row.exchange_order_id or "", row.symbol, Side(row.side), OrderType(row.order_type),
                            status, row.quantity, row.filled_quantity, row.average_price)
        _fold(row, absent, run=run, clock=clock, reject_reason="not found on the exchange by the order sync")
        return True
    run.find(kind="order_resolved", client_order_id=cid, was=row.status, now=venue_order.status.value,
             filled=venue_order.filled_quantity)
    if venue_order.filled_quantity > row.filled_quantity:
        since = datetime_to_ms(row.created_at) - config.trades_margin_ms
        trades = session.call(lambda venue: venue.trades_since(symbol=row.symbol, since_ms=since))
        trades_book(trades=[t for t in trades if t.client_order_id == cid], routing=routing, run=run, clock=clock,
                    publish=publish)
    _fold(row, venue_order, run=run, clock=clock)
    return True
