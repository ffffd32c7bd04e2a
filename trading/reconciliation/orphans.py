"""Orphan virtual positions: sub-accounts hold a net position in a symbol the exchange holds flat.

After missed trades are recovered (and unless orders are in flight), the positions on the side of the
excess are closed virtually at the mark, largest first, until Σ virtual is flat again: a synthetic fill
per position with a deterministic trade id, recorded and alerted. Positions that net each other out
(A long, B short) are left alone: together they are what the exchange holds.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.db import transaction

from core.clock import SYSTEM_CLOCK, Clock
from core.money import ZERO
from trading.domain.records import FillReport
from trading.domain.types import Side
from trading.events import Publisher, event_publish
from trading.models import VirtualPosition
from trading.reconciliation.config import ReconConfig
from trading.reconciliation.notify import reconciled_notify
from trading.reconciliation.positions import recover_trades
from trading.reconciliation.record import RunRecord
from trading.reconciliation.session import VenueSession
from trading.reconciliation.state import exchange_positions_store, last_fill_id, symbol_activity, virtual_net
from trading.reconciliation.trades import routing_load
from trading.services.fills import fill_book_many


def orphan_trade_key(*, account: str, symbol: str, sub_account_id: int, after_fill_id: int, quantity: Decimal) -> str:
    raw = f"{account}|{symbol}|{sub_account_id}|{after_fill_id}|{quantity.normalize()}"
    return f"ORP:{symbol}:{hashlib.sha256(raw.encode()).hexdigest()[:24]}"


def orphans_sweep(
    *, session: VenueSession, account: str, run: RunRecord, config: ReconConfig, clock: Clock = SYSTEM_CLOCK,
    publish: Publisher = event_publish,
) -> None:
    routing = routing_load()
    reported = {p.symbol: p for p in session.call(lambda venue: venue.positions())}
    exchange_positions_store(account=account, positions=reported.values(), at=clock.now())
    candidates = sorted(s for s, net in virtual_net().items() if net != 0 and s not in reported)
    run.compared = {"exchange_positions": len(reported), "flat_on_exchange_with_virtual": candidates}
    for symbol in candidates:
        trades = recover_trades(session=session, account=account, symbol=symbol, run=run, config=config,
                                clock=clock, publish=publish, routing=routing)
        if trades and max(t.time_ms for t in trades) >= clock.now_ms() - config.activity_ms:
            run.tolerate(kind="orphan_virtual", symbol=symbol, reason="trades in the activity window")
            continue
        if (reason := symbol_activity(symbol=symbol, now=clock.now(), activity_ms=config.activity_ms,
                                      in_flight_ms=config.in_flight_tolerance_ms)) is not None:
            run.tolerate(kind="orphan_virtual", symbol=symbol, reason=reason)
            continue
        quote = session.call(lambda venue, s=symbol: venue.fetch_quote(s))  # type: ignore[misc]
        if quote is None:
            run.find(kind="orphan_virtual", symbol=symbol, reason="no mark price: left for the next sweep")
            continue
        _close_excess(symbol, mark=quote.mid, account=account, run=run, clock=clock, publish=publish)


def _close_excess(symbol: str, *, mark: Decimal, account: str, run: RunRecord, clock: Clock,
                  publish: Publisher) -> None:
    with transaction.atomic():
        rows = list(VirtualPosition.objects.select_for_update().filter(symbol=symbol).order_by("id"))
        excess = sum((row.quantity for row in rows), ZERO)
        if excess == 0:
            return
        after = last_fill_id(symbol)
        same_side = sorted((row for row in rows if row.quantity != 0 and (row.quantity > 0) == (excess > 0)),
                           key=lambda row: (-abs(row.quantity), row.pk))
        reports = []
        for row in same_side:
            if excess == 0:
                break
            close = min(abs(row.quantity), abs(excess)).copy_sign(excess)
            excess -= close
            key = orphan_trade_key(account=account, symbol=symbol, sub_account_id=row.sub_account_id,
                                   after_fill_id=after, quantity=close)
            reports.append(FillReport(trade_key=key, sub_account_id=row.sub_account_id, symbol=symbol,
                                      side=Side.SELL if close > 0 else Side.BUY, price=mark, quantity=abs(close),
                                      executed_at=clock.now(), is_synthetic=True))
        results = fill_book_many(reports=reports, clock=clock, publish=publish)
        reconciled_notify(r for r, booked in zip(reports, results, strict=True) if booked is not None)
    for report, booked in zip(reports, results, strict=True):
        run.act(action="orphan_closed", symbol=symbol, sub_account_id=report.sub_account_id,
                trade_key=report.trade_key, side=report.side.value, quantity=report.quantity, price=mark,
                booked=booked is not None)
        run.alert(kind="orphan_position", symbol=symbol, sub_account_id=report.sub_account_id,
                  message=f"sub-account {report.sub_account_id}: {report.quantity} {symbol} had no exchange "
                          f"position behind it; closed virtually at the mark {mark}")
