"""Order intents: validated and committed as pending_submit before any request leaves."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction

from core.clock import SYSTEM_CLOCK, Clock
from core.errors import NotFound
from trading.domain.orders import OrderState, OrderStatus, OrderUpdate, apply_order_update
from trading.domain.records import OrderIntent, SubAccountInfo
from trading.domain.types import OrderType, TimeInForce
from trading.domain.validation import check_intent, new_client_order_id
from trading.models import AlgoRun, Instrument, Order, SubAccount


def subaccount_info(sub_account: SubAccount) -> SubAccountInfo:
    return SubAccountInfo(sub_account.pk, sub_account.code, sub_account.name, sub_account.status,
                          sub_account.is_house)


def _time_in_force(intent: OrderIntent) -> TimeInForce | None:
    if intent.order_type == OrderType.MARKET:
        return None
    return TimeInForce(intent.time_in_force) if intent.time_in_force else TimeInForce.GTC


def order_register(
    *, intent: OrderIntent, reference_price: Decimal | None = None, clock: Clock = SYSTEM_CLOCK,
) -> Order:
    """Validate an order against the sub-account and the instrument, then commit it as pending_submit.

    Any refusal raises AppError with a message for the operator, and nothing is written.
    """
    sub_account = SubAccount.objects.filter(pk=intent.sub_account_id).first()
    instrument = Instrument.objects.filter(symbol=intent.symbol, status=Instrument.Status.TRADING).first()
    info = subaccount_info(sub_account) if sub_account is not None else None
    check_intent(intent, info, instrument.to_domain() if instrument else None, reference_price)
    assert sub_account is not None and info is not None  # noqa: S101 - check_intent raised otherwise
    if intent.algo_run_id is not None and not AlgoRun.objects.filter(
            pk=intent.algo_run_id, sub_account_id=sub_account.pk).exists():
        raise NotFound(f"algo run {intent.algo_run_id} does not exist for {sub_account.name}")
    now = clock.now()
    return Order.objects.create(
        client_order_id=new_client_order_id(intent, info), sub_account=sub_account, symbol=intent.symbol,
        side=intent.side.value, order_type=intent.order_type.value, time_in_force=_time_in_force(intent),
        price=intent.price, quantity=intent.quantity, status=OrderStatus.PENDING_SUBMIT.value,
        reduce_only=intent.reduce_only, origin=intent.origin.value, algo_run_id=intent.algo_run_id,
        created_at=now, updated_at=now,
    )


@transaction.atomic
def order_apply_update(
    *, client_order_id: str, update: OrderUpdate, exchange_order_id: str | None = None,
    reject_reason: str = "", clock: Clock = SYSTEM_CLOCK,
) -> Order | None:
    """Fold an exchange report into the order row; stale and duplicate reports change nothing.

    Returns the order when it changed, None when the report was absorbed.
    """
    try:
        order = Order.objects.select_for_update().get(client_order_id=client_order_id)
    except Order.DoesNotExist:
        raise NotFound(f"no order with client id {client_order_id}") from None
    new_state, changed = apply_order_update(order.to_domain(), update)
    if exchange_order_id and not order.exchange_order_id:
        order.exchange_order_id, changed = exchange_order_id, True
    if not changed:
        return None
    order.status = new_state.status.value
    order.filled_quantity, order.average_price = new_state.filled_quantity, new_state.average_price
    if reject_reason:
        order.reject_reason = reject_reason
    order.updated_at = clock.now()
    order.save()
    return order


_ORDER = Order._meta.db_table
_LOCK_ORDERS = f"""
SELECT client_order_id, status, quantity, filled_quantity, average_price, exchange_order_id FROM {_ORDER}
WHERE client_order_id = ANY(%s) ORDER BY id FOR UPDATE
"""  # noqa: S608 - the table name is ours, every value is a parameter
_UPDATE_ORDERS = f"""
UPDATE {_ORDER} AS o SET status = v.status, filled_quantity = v.filled, average_price = v.average,
       exchange_order_id = v.exchange_id, updated_at = %s
FROM unnest(%s::text[], %s::text[], %s::numeric[], %s::numeric[], %s::text[]) AS v(cid, status, filled, average,
                                                                                  exchange_id)
WHERE o.client_order_id = v.cid
"""  # noqa: S608


@transaction.atomic
def order_apply_updates(
    *, updates: list[tuple[str, OrderUpdate, str | None]], clock: Clock = SYSTEM_CLOCK,
) -> list[Order]:
    """Fold a burst of reports (client id, update, exchange order id) in one transaction, in their order.

    Rows are locked once each (in id order: no deadlocks); reports for client ids this database never
    placed are skipped. Returns the orders that changed (status and quantities as now stored).
    """
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_ORDERS, [sorted({client_order_id for client_order_id, _, _ in updates})])
        rows = {row[0]: row for row in cursor.fetchall()}
        states = {cid: (OrderState(OrderStatus(status), quantity, filled, average), exchange_id)
                  for cid, status, quantity, filled, average, exchange_id in rows.values()}
        changed: set[str] = set()
        for client_order_id, update, exchange_order_id in updates:
            if client_order_id not in states:
                continue
            state, known_exchange_id = states[client_order_id]
            new_state, moved = apply_order_update(state, update)
            if exchange_order_id and not known_exchange_id:
                known_exchange_id, moved = exchange_order_id, True
            states[client_order_id] = (new_state, known_exchange_id)
            if moved:
                changed.add(client_order_id)
        if not changed:
            return []
        ordered = sorted(changed)
        cursor.execute(_UPDATE_ORDERS, [clock.now(), ordered, [states[cid][0].status.value for cid in ordered],
                                        [states[cid][0].filled_quantity for cid in ordered],
                                        [states[cid][0].average_price for cid in ordered],
                                        [states[cid][1] for cid in ordered]])
    return list(Order.objects.filter(client_order_id__in=ordered))
