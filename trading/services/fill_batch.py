"""Set-based booking of a burst of fills: five statements whatever the burst's size, exactly once per fill."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from core.errors import NotFound
from trading.domain.positions import Fill as DomainFill
from trading.domain.positions import Position, apply_fill
from trading.domain.records import FillBooked, FillReport
from trading.models import Fill, LedgerEntry, Order, SubAccount, VirtualPosition

_FILL = Fill._meta.db_table
_POSITION = VirtualPosition._meta.db_table
_LEDGER = LedgerEntry._meta.db_table
_ORDER = Order._meta.db_table
_SUB = SubAccount._meta.db_table

_KNOWN_SUBS = f"SELECT id FROM {_SUB} WHERE id = ANY(%s)"  # noqa: S608 - table names are ours
_CREATE_POSITIONS = f"""
INSERT INTO {_POSITION} (sub_account_id, symbol, quantity, average_entry, realized_pnl, fees, updated_at)
SELECT pair.sub, pair.symbol, 0, 0, 0, 0, %s FROM unnest(%s::bigint[], %s::text[]) AS pair(sub, symbol)
ON CONFLICT (sub_account_id, symbol) DO NOTHING
"""  # noqa: S608
# Locked in id order, so two bursts touching the same positions cannot deadlock.
_LOCK_POSITIONS = f"""
SELECT p.id, p.sub_account_id, p.symbol, p.quantity, p.average_entry, p.realized_pnl, p.fees
FROM {_POSITION} p JOIN unnest(%s::bigint[], %s::text[]) AS pair(sub, symbol)
  ON p.sub_account_id = pair.sub AND p.symbol = pair.symbol
ORDER BY p.id FOR UPDATE OF p
"""  # noqa: S608
# Safe after the locks: a fill is always booked under its position's lock, so no one else can add these keys now.
_BOOKED_KEYS = f"SELECT trade_key FROM {_FILL} WHERE trade_key = ANY(%s)"  # noqa: S608
_INSERT_FILLS = f"""
INSERT INTO {_FILL} (trade_key, order_id, client_order_id, sub_account_id, symbol, side, price, quantity, fee,
                     fee_asset, is_maker, realized_pnl, executed_at, is_synthetic, booked_at)
SELECT v.trade_key, COALESCE(v.order_id, o.id), v.cid, v.sub, v.symbol, v.side, v.price, v.quantity, v.fee,
       v.fee_asset, v.maker, v.realized, v.executed, v.synthetic, %s
FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::numeric[],
            %s::numeric[], %s::numeric[], %s::text[], %s::bool[], %s::numeric[], %s::timestamptz[], %s::bool[])
  WITH ORDINALITY AS v(trade_key, order_id, cid, sub, symbol, side, price, quantity, fee, fee_asset, maker,
                       realized, executed, synthetic, n)
LEFT JOIN {_ORDER} o ON o.client_order_id = v.cid
ORDER BY v.n
RETURNING id, trade_key
"""  # noqa: S608
_INSERT_LEDGER = f"""
INSERT INTO {_LEDGER} (sub_account_id, kind, amount, asset, fill_id, reference, note, created_at)
SELECT v.sub, v.kind, v.amount, v.asset, v.fill, v.reference, '', %s
FROM unnest(%s::bigint[], %s::text[], %s::numeric[], %s::text[], %s::bigint[], %s::text[])
  AS v(sub, kind, amount, asset, fill, reference)
"""  # noqa: S608
_UPDATE_POSITIONS = f"""
UPDATE {_POSITION} AS p SET quantity = v.quantity, average_entry = v.entry, realized_pnl = v.realized,
       fees = v.fees, updated_at = %s
FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[])
  AS v(id, quantity, entry, realized, fees)
WHERE p.id = v.id
"""  # noqa: S608


def book_burst(
    cursor: Any, reports: list[FillReport], fills: list[DomainFill], now: datetime,
) -> list[FillBooked | None]:
    """Inside the caller's transaction: lock the positions, skip booked keys, apply, write everything at once."""
    positions = _lock_positions(cursor, reports, now)
    cursor.execute(_BOOKED_KEYS, [[report.trade_key for report in reports]])
    seen = {row[0] for row in cursor.fetchall()}
    results: list[FillBooked | None] = []
    fresh: list[tuple[FillReport, Decimal]] = []
    for report, domain_fill in zip(reports, fills, strict=True):
        if report.trade_key in seen:
            results.append(None)
            continue
        seen.add(report.trade_key)
        key = (report.sub_account_id, report.symbol)
        position_id, position = positions[key]
        position, change = apply_fill(position, domain_fill)
        positions[key] = (position_id, position)
        results.append(FillBooked(0, report.sub_account_id, position, change))
        fresh.append((report, change.realized_pnl))
    if fresh:
        fill_ids = _insert_fills(cursor, fresh, now)
        _insert_ledger(cursor, fresh, fill_ids, now)
        _update_positions(cursor, positions, now)
        ids = iter(fill_ids)
        results = [FillBooked(next(ids), r.sub_account_id, r.position, r.change) if r else None for r in results]
    return results


def _lock_positions(
    cursor: Any, reports: list[FillReport], now: datetime,
) -> dict[tuple[int, str], tuple[int, Position]]:
    pairs = sorted({(report.sub_account_id, report.symbol) for report in reports})
    subs = sorted({sub for sub, _ in pairs})
    cursor.execute(_KNOWN_SUBS, [subs])
    missing = set(subs) - {row[0] for row in cursor.fetchall()}
    if missing:  # foreign keys are only checked at commit: refuse before writing anything
        raise NotFound(f"sub-account {min(missing)} does not exist")
    cursor.execute(_CREATE_POSITIONS, [now, [sub for sub, _ in pairs], [symbol for _, symbol in pairs]])
    cursor.execute(_LOCK_POSITIONS, [[sub for sub, _ in pairs], [symbol for _, symbol in pairs]])
    return {(sub, symbol): (position_id, Position(symbol, quantity, entry, realized, fees))
            for position_id, sub, symbol, quantity, entry, realized, fees in cursor.fetchall()}


def _insert_fills(cursor: Any, fresh: list[tuple[FillReport, Decimal]], now: datetime) -> list[int]:
    columns: list[list[Any]] = [[] for _ in range(14)]
    for report, realized in fresh:
        values = (report.trade_key, report.order_id, report.client_order_id, report.sub_account_id, report.symbol,
                  str(report.side), report.price, report.quantity, report.fee, report.fee_asset, report.is_maker,
                  realized, report.executed_at, report.is_synthetic)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    cursor.execute(_INSERT_FILLS, [now, *columns])
    by_key = {trade_key: fill_id for fill_id, trade_key in cursor.fetchall()}
    return [by_key[report.trade_key] for report, _ in fresh]


def _insert_ledger(cursor: Any, fresh: list[tuple[FillReport, Decimal]], fill_ids: list[int], now: datetime) -> None:
    rows = []
    for (report, realized), fill_id in zip(fresh, fill_ids, strict=True):
        if realized != 0:
            rows.append((report.sub_account_id, "realized_pnl", realized, report.quote_asset, fill_id,
                         report.trade_key))
        if report.fee != 0:
            rows.append((report.sub_account_id, "fee", -report.fee, report.fee_asset, fill_id, report.trade_key))
    if rows:
        cursor.execute(_INSERT_LEDGER, [now, *[list(column) for column in zip(*rows, strict=True)]])


def _update_positions(cursor: Any, positions: dict[tuple[int, str], tuple[int, Position]], now: datetime) -> None:
    rows = [(position_id, p.quantity, p.average_entry, p.realized_pnl, p.fees) for position_id, p in positions.values()]
    cursor.execute(_UPDATE_POSITIONS, [now, *[list(column) for column in zip(*rows, strict=True)]])
