"""Exactly-once fill booking: the fill, its position change and its ledger entries in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction

from core.clock import SYSTEM_CLOCK, Clock
from core.errors import AppError, NotFound
from core.money import ZERO
from trading.domain.positions import Fill as DomainFill
from trading.domain.positions import Position, PositionChange, apply_fill
from trading.domain.records import FillBooked, FillReport
from trading.domain.types import Side
from trading.events import Publisher, account_group, event_publish
from trading.models import Fill, LedgerEntry, Order, SubAccount, VirtualPosition
from trading.services.fill_batch import book_burst


def _validate(report: FillReport) -> DomainFill:
    if not report.trade_key:
        raise AppError("a fill needs the exchange's trade key")
    if report.executed_at.tzinfo is None:
        raise AppError("fill time must be timezone-aware UTC")
    quote_fee = report.fee if report.fee_asset == report.quote_asset else ZERO  # BNB fees do not touch USDT PnL
    try:
        return DomainFill(report.trade_key, report.symbol, Side(report.side), report.price, report.quantity,
                          quote_fee, report.is_maker)
    except ValueError as exc:
        raise AppError(f"invalid fill {report.trade_key}: {exc}") from None


_FILL = Fill._meta.db_table
_POSITION = VirtualPosition._meta.db_table
_LEDGER = LedgerEntry._meta.db_table
_ORDER = Order._meta.db_table

_SELECT_POSITION = f"""
SELECT id, quantity, average_entry, realized_pnl, fees FROM {_POSITION}
WHERE sub_account_id = %s AND symbol = %s FOR UPDATE
"""  # noqa: S608 - table names are ours, every value is a parameter

# The first fill of a symbol creates the row; a concurrent creator makes this wait, then lock the row.
_CREATE_POSITION = f"""
INSERT INTO {_POSITION} (sub_account_id, symbol, quantity, average_entry, realized_pnl, fees, updated_at)
VALUES (%s, %s, 0, 0, 0, 0, %s)
ON CONFLICT (sub_account_id, symbol) DO UPDATE SET symbol = EXCLUDED.symbol
RETURNING id, quantity, average_entry, realized_pnl, fees
"""  # noqa: S608 - table names are ours, every value is a parameter

# Insert the fill unless its trade key is taken; only then move the position and write the ledger.
_BOOK = f"""
WITH booked AS (
  INSERT INTO {_FILL}
    (trade_key, order_id, client_order_id, sub_account_id, symbol, side, price, quantity, fee, fee_asset,
     is_maker, realized_pnl, executed_at, is_synthetic, booked_at)
  VALUES (%(trade_key)s,
          COALESCE(%(order_id)s::bigint, (SELECT id FROM {_ORDER} WHERE client_order_id = %(client_order_id)s)),
          %(client_order_id)s, %(sub)s, %(symbol)s, %(side)s, %(price)s,
          %(quantity)s, %(fee)s, %(fee_asset)s, %(is_maker)s, %(realized)s, %(executed_at)s, %(synthetic)s,
          %(now)s)
  ON CONFLICT (trade_key) DO NOTHING
  RETURNING id
), moved AS (
  UPDATE {_POSITION} SET quantity = %(qty_after)s, average_entry = %(entry)s, realized_pnl = %(total_realized)s,
         fees = %(total_fees)s, updated_at = %(now)s
  WHERE id = %(position_id)s AND EXISTS (SELECT 1 FROM booked)
), ledgered AS (
  INSERT INTO {_LEDGER} (sub_account_id, kind, amount, asset, fill_id, reference, note, created_at)
  SELECT %(sub)s, entry.kind, entry.amount, entry.asset, booked.id, %(trade_key)s, '', %(now)s
  FROM booked CROSS JOIN (VALUES ('realized_pnl', %(realized)s::numeric, %(quote_asset)s),
                                 ('fee', -%(fee)s::numeric, %(fee_asset)s)) AS entry(kind, amount, asset)
  WHERE entry.amount <> 0
)
SELECT id FROM booked
"""  # noqa: S608 - table names are ours, every value is a parameter


def fill_book(
    *, report: FillReport, clock: Clock = SYSTEM_CLOCK, publish: Publisher = event_publish,
) -> FillBooked | None:
    """Book a fill once. A replay, or a concurrent duplicate from another session, returns None and changes nothing.

    The position row is locked first, so two sessions booking the same trade serialise on it and the
    second finds the trade key taken. Two statements per fill: this is the hot path of fill routing.
    """
    return fill_book_many(reports=[report], clock=clock, publish=publish)[0]


def fill_book_many(
    *, reports: list[FillReport], clock: Clock = SYSTEM_CLOCK, publish: Publisher = event_publish,
) -> list[FillBooked | None]:
    """Book a burst of fills in one transaction (one commit instead of one per fill), each exactly once.

    Every report is validated before anything is written; a refusal writes nothing at all.
    """
    fills = [_validate(report) for report in reports]
    now = clock.now()
    with transaction.atomic(), connection.cursor() as cursor:
        if len(reports) == 1:
            results = [_book_locked(cursor, reports[0], fills[0], now)]
        else:
            results = book_burst(cursor, reports, fills, now)
        for report, booked in zip(reports, results, strict=True):
            if booked is not None:
                transaction.on_commit(lambda r=report, b=booked: _broadcast(r, b, publish))  # type: ignore[misc]
    return results


def _book_locked(cursor: Any, report: FillReport, domain_fill: DomainFill, now: datetime) -> FillBooked | None:
    cursor.execute(_SELECT_POSITION, [report.sub_account_id, report.symbol])
    row = cursor.fetchone()
    if row is None:  # first fill of this symbol: foreign keys are checked only at commit, so check now
        if not SubAccount.objects.filter(pk=report.sub_account_id).exists():
            raise NotFound(f"sub-account {report.sub_account_id} does not exist")
        cursor.execute(_CREATE_POSITION, [report.sub_account_id, report.symbol, now])
        row = cursor.fetchone()
    position_id, *stored = row
    position, change = apply_fill(Position(report.symbol, *stored), domain_fill)
    cursor.execute(_BOOK, _book_parameters(report, position, change, position_id, now))
    inserted = cursor.fetchone()
    if inserted is None:
        return None  # booked before: nothing was written
    return FillBooked(int(inserted[0]), report.sub_account_id, position, change)


def _book_parameters(
    report: FillReport, position: Position, change: PositionChange, position_id: int, now: datetime,
) -> dict[str, Any]:
    return {
        "trade_key": report.trade_key, "order_id": report.order_id, "client_order_id": report.client_order_id,
        "sub": report.sub_account_id, "symbol": report.symbol, "side": str(report.side), "price": report.price,
        "quantity": report.quantity, "fee": report.fee, "fee_asset": report.fee_asset, "is_maker": report.is_maker,
        "realized": change.realized_pnl, "executed_at": report.executed_at, "synthetic": report.is_synthetic,
        "now": now, "qty_after": position.quantity, "entry": position.average_entry,
        "total_realized": position.realized_pnl, "total_fees": position.fees, "position_id": position_id,
        "quote_asset": report.quote_asset,
    }


def _broadcast(report: FillReport, booked: FillBooked, publish: Publisher) -> None:
    group = account_group(report.sub_account_id)
    publish(group, "fill", {
        "trade_key": report.trade_key, "symbol": report.symbol, "side": str(report.side), "price": report.price,
        "quantity": report.quantity, "fee": report.fee, "client_order_id": report.client_order_id,
        "realized_pnl": booked.change.realized_pnl,
    })
    publish(group, "position_updated", {
        "symbol": booked.position.symbol, "quantity": booked.position.quantity,
        "average_entry": booked.position.average_entry, "realized_pnl": booked.position.realized_pnl,
        "fees": booked.position.fees,
    })
