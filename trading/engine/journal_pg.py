"""The PostgreSQL journal: the engine's durable record, through the trading services."""

from __future__ import annotations

from decimal import Decimal

from asgiref.sync import sync_to_async

from core.clock import SYSTEM_CLOCK, Clock
from trading.domain.client_ids import OrderOrigin
from trading.domain.instruments import InstrumentRules
from trading.domain.orders import OrderStatus, OrderUpdate
from trading.domain.positions import Position
from trading.domain.records import FillBooked, FillReport, JournaledOrder, OrderIntent, SubAccountInfo
from trading.domain.types import OrderType, Side, TimeInForce
from trading.events import Publisher, event_publish
from trading.models import Instrument, Order, SubAccount, VirtualPosition
from trading.services import fill_book, order_apply_update, order_register
from trading.services.fills import fill_book_many
from trading.services.orders import order_apply_updates, subaccount_info

LIVE_STATUSES = [status.value for status in OrderStatus if not status.is_terminal]


def journaled(order: Order) -> JournaledOrder:
    return JournaledOrder(
        client_order_id=order.client_order_id, sub_account_id=order.sub_account_id, symbol=order.symbol,
        side=Side(order.side), order_type=OrderType(order.order_type), quantity=order.quantity, price=order.price,
        time_in_force=TimeInForce(order.time_in_force) if order.time_in_force else None,
        reduce_only=order.reduce_only, origin=OrderOrigin(order.origin), algo_run_id=order.algo_run_id,
        status=OrderStatus(order.status), filled_quantity=order.filled_quantity, average_price=order.average_price,
        exchange_order_id=order.exchange_order_id,
    )


class PostgresJournal:
    """Each call is one transaction on the database thread (Django's ORM is synchronous)."""

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK, publish: Publisher = event_publish) -> None:
        self._clock = clock
        self._publish = publish

    async def sub_accounts(self) -> list[SubAccountInfo]:
        return await sync_to_async(lambda: [subaccount_info(sub) for sub in SubAccount.objects.all()])()

    async def instruments(self) -> list[InstrumentRules]:
        return await sync_to_async(lambda: [row.to_domain() for row in Instrument.objects.filter(
            status=Instrument.Status.TRADING)])()

    async def order_open(self, intent: OrderIntent, *, reference_price: Decimal | None) -> JournaledOrder:
        order = await sync_to_async(order_register)(intent=intent, reference_price=reference_price,
                                                    clock=self._clock)
        return journaled(order)

    async def order_update(self, client_order_id: str, update: OrderUpdate, *, exchange_order_id: str | None = None,
                           reject_reason: str = "") -> JournaledOrder | None:
        order = await sync_to_async(order_apply_update)(
            client_order_id=client_order_id, update=update, exchange_order_id=exchange_order_id,
            reject_reason=reject_reason, clock=self._clock)
        return journaled(order) if order is not None else None

    async def order_update_many(self, updates: list[tuple[str, OrderUpdate, str | None]]) -> list[JournaledOrder]:
        orders = await sync_to_async(order_apply_updates)(updates=updates, clock=self._clock)
        return [journaled(order) for order in orders]

    async def fill_book(self, report: FillReport) -> FillBooked | None:
        return await sync_to_async(fill_book)(report=report, clock=self._clock, publish=self._publish)

    async def fill_book_many(self, reports: list[FillReport]) -> list[FillBooked | None]:
        return await sync_to_async(fill_book_many)(reports=reports, clock=self._clock, publish=self._publish)

    async def live_orders(self) -> list[JournaledOrder]:
        return await sync_to_async(lambda: [journaled(order) for order in Order.objects.filter(
            status__in=LIVE_STATUSES)])()

    async def positions(self) -> list[tuple[int, Position]]:
        return await sync_to_async(lambda: [(row.sub_account_id, row.to_domain())
                                            for row in VirtualPosition.objects.all()])()
