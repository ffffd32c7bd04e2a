"""Tell the engine that a reconciliation changed positions behind it: NOTIFY inside the booking transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection

from trading.domain.records import FillReport

RECONCILED_CHANNEL = "pms_reconciled"
MAX_PAYLOAD = 7_000  # PostgreSQL refuses payloads of 8000 bytes or more


def reconciled_payload(reports: Iterable[FillReport]) -> str:
    """`{"sub_account_ids", "symbols", "trade_keys"}`; too many for one payload → `{"all": true}` (reload all)."""
    reports = list(reports)
    payload = json.dumps({"sub_account_ids": sorted({r.sub_account_id for r in reports}),
                          "symbols": sorted({r.symbol for r in reports}),
                          "trade_keys": sorted(r.trade_key for r in reports)}, separators=(",", ":"))
    return payload if len(payload) < MAX_PAYLOAD else json.dumps({"all": True})


def reconciled_notify(reports: Iterable[FillReport]) -> None:
    """Call inside the transaction that booked `reports`: PostgreSQL delivers the NOTIFY on commit, and never if
    the transaction rolls back, so the engine hears of exactly the positions that changed."""
    reports = list(reports)
    if not reports:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [RECONCILED_CHANNEL, reconciled_payload(reports)])
