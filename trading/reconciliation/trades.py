"""Exchange trades booked from REST (userTrades): routed by client id, the house owns the rest, exactly once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from core.clock import SYSTEM_CLOCK, Clock, ms_to_datetime
from trading.domain.client_ids import client_id_parse
from trading.domain.records import FillReport
from trading.events import Publisher, event_publish
from trading.models import Fill, SubAccount
from trading.reconciliation.notify import reconciled_notify
from trading.reconciliation.record import RunRecord
from trading.services.fills import fill_book_many
from trading.venues.base import VenueTrade

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Routing:
    """Sub-account ids by code, and the house that owns whatever PMS did not place."""

    codes: dict[str, int]
    house_id: int

    @property
    def sub_account_ids(self) -> frozenset[int]:
        return frozenset(self.codes.values())

    def owner(self, client_order_id: str) -> int | None:
        parsed = client_id_parse(client_order_id)
        return self.codes.get(parsed.sub_account_code) if parsed else None


def routing_load() -> Routing:
    house = SubAccount.objects.filter(is_house=True).first()
    if house is None:
        raise LookupError("no house sub-account: run migrations (it is created by 0002)")
    return Routing(dict(SubAccount.objects.values_list("code", "id")), house.pk)


def trades_unbooked(trades: Sequence[VenueTrade]) -> list[VenueTrade]:
    keys = [trade.trade_key for trade in trades]
    booked = set(Fill.objects.filter(trade_key__in=keys).values_list("trade_key", flat=True))
    return [trade for trade in trades if trade.trade_key not in booked]


def trades_book(
    *, trades: Sequence[VenueTrade], routing: Routing, run: RunRecord, clock: Clock = SYSTEM_CLOCK,
    publish: Publisher = event_publish,
) -> list[VenueTrade]:
    """Book the trades nobody booked yet, with their real trade ids; returns those this call booked.

    A trade the engine books at the same moment is booked once: the trade key is unique and the loser's
    insert is a no-op. External trades (manual, `autoclose-*`, ADL) go to the house and raise an alert.
    """
    fresh = trades_unbooked(trades)
    if not fresh:
        return []
    reports = [_report(trade, routing) for trade in fresh]
    with transaction.atomic():
        results = fill_book_many(reports=reports, clock=clock, publish=publish)
        reconciled_notify(r for r, booked in zip(reports, results, strict=True) if booked is not None)
    booked = []
    for trade, report, result in zip(fresh, reports, results, strict=True):
        if result is None:
            continue
        booked.append(trade)
        external = routing.owner(trade.client_order_id) is None
        run.act(action="fill_booked", trade_key=trade.trade_key, symbol=trade.symbol, side=trade.side.value,
                quantity=trade.quantity, price=trade.price, client_order_id=trade.client_order_id,
                sub_account_id=report.sub_account_id, external=external)
        if external:
            logger.warning("external trade booked to the house sub-account",
                           extra={"trade_key": trade.trade_key, "client_order_id": trade.client_order_id})
            run.alert(kind="external_fill", trade_key=trade.trade_key, symbol=trade.symbol,
                      message=(f"a {trade.side.value} of {trade.quantity} {trade.symbol} at {trade.price} by "
                               f"{trade.client_order_id or 'unknown'} was not placed by PMS; booked to the house "
                               "sub-account by reconciliation"))
    return booked


def _report(trade: VenueTrade, routing: Routing) -> FillReport:
    owner = routing.owner(trade.client_order_id)
    return FillReport(
        trade_key=trade.trade_key, sub_account_id=routing.house_id if owner is None else owner,
        symbol=trade.symbol, side=trade.side, price=trade.price, quantity=trade.quantity,
        executed_at=ms_to_datetime(trade.time_ms), fee=trade.fee, fee_asset=trade.fee_asset,
        is_maker=trade.is_maker, client_order_id=trade.client_order_id)
