"""Order intents: validated and committed as pending_submit before any request leaves."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from core.clock import SYSTEM_CLOCK, Clock
from core.errors import NotFound
from trading.domain.orders import OrderStatus, OrderUpdate, apply_order_update
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
