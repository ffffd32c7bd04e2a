"""Position sync: the exchange's net position per symbol against Σ virtual positions.

Order of work per differing symbol: recover missed fills from userTrades (real trade ids, exactly once);
then, only if a difference remains and nothing explains it (orders in flight, recent activity, a fill
booked or executed after the snapshot), book the residual to the house sub-account with a deterministic
synthetic trade id, record it and alert. A snapshot older than a booked fill therefore never undoes it.
A symbol the exchange holds flat is left to the orphan sweep.
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
from trading.models import Fill, VirtualPosition
from trading.reconciliation.config import ReconConfig
from trading.reconciliation.notify import reconciled_notify
from trading.reconciliation.record import RunRecord
from trading.reconciliation.session import VenueSession
from trading.reconciliation.state import (
    exchange_positions_store,
    last_fill_id,
    symbol_activity,
    trades_since_ms,
    virtual_net,
    virtual_net_of,
)
from trading.reconciliation.trades import Routing, routing_load, trades_book
from trading.services.fills import fill_book_many
from trading.venues.base import VenuePosition, VenueTrade

SNAPSHOT_MARGIN_MS = 1_000  # a trade this close to the snapshot may or may not be in it


def residual_trade_key(*, account: str, symbol: str, after_fill_id: int, residual: Decimal) -> str:
    """The same state (account, symbol, last fill, residual) always gives the same key: booked once."""
    digest = hashlib.sha256(f"{account}|{symbol}|{after_fill_id}|{residual.normalize()}".encode()).hexdigest()
    return f"RCN:{symbol}:{digest[:24]}"


def positions_sync(
    *, session: VenueSession, account: str, run: RunRecord, config: ReconConfig, clock: Clock = SYSTEM_CLOCK,
    publish: Publisher = event_publish,
) -> None:
    routing = routing_load()
    fills_before = last_fill_id()  # read before the snapshot: any later fill makes the snapshot suspect
    snapshot_ms = clock.now_ms()
    reported = {p.symbol: p for p in session.call(lambda venue: venue.positions())}
    exchange_positions_store(account=account, positions=reported.values(), at=clock.now())
    virtual = virtual_net()
    symbols = sorted(set(reported) | {symbol for symbol, net in virtual.items() if net != 0})
    differing = [s for s in symbols if _quantity(reported.get(s)) != virtual.get(s, ZERO)]
    run.compared = {"symbols": len(symbols), "exchange_positions": len(reported), "differing": differing,
                    "unresolved": []}
    for symbol in differing:
        if not _settle(symbol, session=session, account=account, run=run, config=config, clock=clock,
                       publish=publish, routing=routing, exchange=reported.get(symbol),
                       fills_before=fills_before, snapshot_ms=snapshot_ms):
            run.compared["unresolved"].append(symbol)


def _quantity(position: VenuePosition | None) -> Decimal:
    return position.quantity if position is not None else ZERO


def _settle(symbol: str, *, session: VenueSession, account: str, run: RunRecord, config: ReconConfig,
            clock: Clock, publish: Publisher, routing: Routing, exchange: VenuePosition | None,
            fills_before: int, snapshot_ms: int) -> bool:
    """True when the symbol ends matched (or handed to the orphan sweep as settled enough); False if it waits."""
    exchange_quantity = _quantity(exchange)
    run.find(kind="position_difference", symbol=symbol, exchange=exchange_quantity, virtual=virtual_net_of(symbol))
    trades = recover_trades(session=session, account=account, symbol=symbol, run=run, config=config, clock=clock,
                            publish=publish, routing=routing)
    with transaction.atomic():
        rows = list(VirtualPosition.objects.select_for_update().filter(symbol=symbol).order_by("id"))
        net = sum((row.quantity for row in rows), ZERO)
        if net == exchange_quantity:
            return True
        reason = _why_wait(symbol, trades=trades, fills_before=fills_before, snapshot_ms=snapshot_ms,
                           booked_now=run, config=config, clock=clock)
        if reason is not None:
            run.tolerate(kind="position_difference", symbol=symbol, exchange=exchange_quantity, virtual=net,
                         reason=reason)
            return False
        if exchange_quantity != 0 and net != 0 and (exchange_quantity > 0) != (net > 0):
            run.find(kind="desync", symbol=symbol, exchange=exchange_quantity, virtual=net)
            run.alert(kind="desync", symbol=symbol, exchange=exchange_quantity, virtual=net,
                      message=f"{symbol}: the exchange holds {exchange_quantity}, sub-accounts Σ {net}: "
                              "closes would act against the exchange side")
        if exchange_quantity == 0:
            run.find(kind="orphan_virtual", symbol=symbol, virtual=net, note="left to the orphan sweep")
            return False
        _book_residual(symbol, account=account, exchange=exchange, net=net, run=run, clock=clock,
                       publish=publish, routing=routing)
    return True


def recover_trades(*, session: VenueSession, account: str, symbol: str, run: RunRecord, config: ReconConfig,
                   clock: Clock, publish: Publisher, routing: Routing) -> list[VenueTrade]:
    """Book the symbol's missed trades older than the activity window (younger ones are the engine's to book);
    returns every trade read, for the staleness checks."""
    now_ms = clock.now_ms()
    since = trades_since_ms(account=account, symbol=symbol, now_ms=now_ms, lookback_ms=config.trades_lookback_ms,
                            margin_ms=config.trades_margin_ms)
    trades = session.call(lambda venue: venue.trades_since(symbol=symbol, since_ms=since))
    settled = [t for t in trades if t.time_ms < now_ms - config.activity_ms]
    trades_book(trades=settled, routing=routing, run=run, clock=clock, publish=publish)
    return trades


def _why_wait(symbol: str, *, trades: list[VenueTrade], fills_before: int, snapshot_ms: int, booked_now: RunRecord,
              config: ReconConfig, clock: Clock) -> str | None:
    near = {t.trade_key for t in trades if t.time_ms >= snapshot_ms - SNAPSHOT_MARGIN_MS}
    if near - set(Fill.objects.filter(trade_key__in=near, id__lte=fills_before).values_list("trade_key", flat=True)):
        return "a trade executed around or after the snapshot"  # booked before the snapshot: both views have it
    if any(trade.time_ms >= clock.now_ms() - config.activity_ms for trade in trades):
        return "trades younger than the activity window are the engine's to book"
    ours = {action.get("trade_key") for action in booked_now.actions}
    later = Fill.objects.filter(symbol=symbol, id__gt=fills_before).exclude(trade_key__in=ours).exists()
    if later:
        return "a fill was booked after the snapshot"
    return symbol_activity(symbol=symbol, now=clock.now(), activity_ms=config.activity_ms,
                           in_flight_ms=config.in_flight_tolerance_ms)


def _book_residual(symbol: str, *, account: str, exchange: VenuePosition | None, net: Decimal, run: RunRecord,
                   clock: Clock, publish: Publisher, routing: Routing) -> None:
    assert exchange is not None  # noqa: S101 - a flat exchange was handed to the orphan sweep
    residual = exchange.quantity - net
    price = exchange.mark_price if exchange.mark_price > 0 else exchange.entry_price
    key = residual_trade_key(account=account, symbol=symbol, after_fill_id=last_fill_id(symbol), residual=residual)
    report = FillReport(trade_key=key, sub_account_id=routing.house_id, symbol=symbol,
                        side=Side.BUY if residual > 0 else Side.SELL, price=price, quantity=abs(residual),
                        executed_at=clock.now(), is_synthetic=True)
    booked = fill_book_many(reports=[report], clock=clock, publish=publish)[0]  # inside _settle's transaction
    if booked is not None:
        reconciled_notify([report])
    run.act(action="residual_to_house", symbol=symbol, trade_key=key, quantity=residual, price=price,
            exchange=exchange.quantity, virtual_before=net, booked=booked is not None)
    run.alert(kind="reconciliation_residual", symbol=symbol, trade_key=key, quantity=residual,
              message=f"{symbol}: {residual} on the exchange had no fill to explain it; booked to the house "
                      f"sub-account at {price} ({key})")
