"""Exactly-once fill booking: the fill, its position change and its ledger entries in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction

from core.clock import SYSTEM_CLOCK, Clock
from core.errors import AppError, NotFound
from core.money import ZERO
from trading.domain.positions import Fill as DomainFill
from trading.domain.positions import Position, PositionChange, apply_fill
from trading.domain.types import Side
from trading.events import Publisher, account_group, event_publish
from trading.models import Fill, LedgerEntry, SubAccount, VirtualPosition


@dataclass(frozen=True, slots=True)
class FillReport:
    """An execution as the exchange (or a reconciliation) reports it, already routed to a sub-account."""

    trade_key: str
    sub_account_id: int
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    executed_at: datetime
    fee: Decimal = ZERO
    fee_asset: str = "USDT"
    is_maker: bool = False
    client_order_id: str = ""
    order_id: int | None = None
    is_synthetic: bool = False
    quote_asset: str = "USDT"


@dataclass(frozen=True, slots=True)
class FillBooked:
    fill_id: int
    sub_account_id: int
    position: Position
    change: PositionChange


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


_INSERT_FILL = f"""
INSERT INTO {Fill._meta.db_table}
  (trade_key, order_id, client_order_id, sub_account_id, symbol, side, price, quantity, fee, fee_asset,
   is_maker, realized_pnl, executed_at, is_synthetic, booked_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (trade_key) DO NOTHING
RETURNING id
"""  # noqa: S608 - the table name is ours, every value is a parameter


def _locked_position(report: FillReport, now: datetime) -> VirtualPosition:
    row = VirtualPosition.objects.select_for_update().filter(
        sub_account_id=report.sub_account_id, symbol=report.symbol).first()
    if row is not None:
        return row
    if not SubAccount.objects.filter(pk=report.sub_account_id).exists():
        raise NotFound(f"sub-account {report.sub_account_id} does not exist")
    row, _ = VirtualPosition.objects.select_for_update().get_or_create(
        sub_account_id=report.sub_account_id, symbol=report.symbol, defaults={"updated_at": now})
    return row


def fill_book(
    *, report: FillReport, clock: Clock = SYSTEM_CLOCK, publish: Publisher = event_publish,
) -> FillBooked | None:
    """Book a fill once. A replay, or a concurrent duplicate from another session, returns None and changes nothing.

    The position row is locked first, so two sessions booking the same trade serialise on it and the
    second finds the trade key taken.
    """
    domain_fill = _validate(report)
    now = clock.now()
    with transaction.atomic():
        row = _locked_position(report, now)
        position, change = apply_fill(row.to_domain(), domain_fill)
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_FILL, [
                report.trade_key, report.order_id, report.client_order_id, report.sub_account_id, report.symbol,
                str(report.side), report.price, report.quantity, report.fee, report.fee_asset, report.is_maker,
                change.realized_pnl, report.executed_at, report.is_synthetic, now,
            ])
            inserted = cursor.fetchone()
        if inserted is None:
            return None  # booked before: the position row is left exactly as it was
        fill_id = int(inserted[0])
        row.quantity, row.average_entry = position.quantity, position.average_entry
        row.realized_pnl, row.fees, row.updated_at = position.realized_pnl, position.fees, now
        row.save(update_fields=["quantity", "average_entry", "realized_pnl", "fees", "updated_at"])
        _ledger_write(report, change, fill_id, now)
        booked = FillBooked(fill_id, report.sub_account_id, position, change)
        transaction.on_commit(lambda: _broadcast(report, booked, publish))
    return booked


def _ledger_write(report: FillReport, change: PositionChange, fill_id: int, now: datetime) -> None:
    entries = []
    if change.realized_pnl != 0:
        entries.append(LedgerEntry(sub_account_id=report.sub_account_id, kind=LedgerEntry.Kind.REALIZED_PNL,
                                   amount=change.realized_pnl, asset=report.quote_asset, fill_id=fill_id,
                                   reference=report.trade_key, created_at=now))
    if report.fee != 0:
        entries.append(LedgerEntry(sub_account_id=report.sub_account_id, kind=LedgerEntry.Kind.FEE,
                                   amount=-report.fee, asset=report.fee_asset, fill_id=fill_id,
                                   reference=report.trade_key, created_at=now))
    if entries:
        LedgerEntry.objects.bulk_create(entries)


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
