"""Order intents: validated and committed as pending_submit before any request leaves."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from core.clock import SYSTEM_CLOCK, Clock
from core.errors import AppError, NotFound
from trading.domain.client_ids import OrderOrigin, client_id_make, client_id_parse, encode_base62
from trading.domain.instruments import order_rejection_reason
from trading.domain.orders import OrderStatus, OrderUpdate, apply_order_update
from trading.domain.types import OrderType, Side, TimeInForce
from trading.models import AlgoRun, Instrument, Order, SubAccount


@dataclass(frozen=True, slots=True)
class OrderIntent:
    sub_account_id: int
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    origin: OrderOrigin = OrderOrigin.LMT
    algo_run_id: int | None = None
    client_order_id: str | None = None  # given when a caller must know it in advance (replacements, retries)


def _tradable_sub_account(sub_account_id: int, reduce_only: bool) -> SubAccount:
    try:
        sub_account = SubAccount.objects.get(pk=sub_account_id)
    except SubAccount.DoesNotExist:
        raise NotFound(f"sub-account {sub_account_id} does not exist") from None
    if sub_account.status == SubAccount.Status.CLOSED:
        raise AppError(f"sub-account {sub_account.name} is closed", code="sub_account_closed")
    if sub_account.status == SubAccount.Status.FROZEN and not reduce_only:
        raise AppError(f"sub-account {sub_account.name} is frozen: only reduce-only orders are allowed; "
                       "ask ops to unfreeze it", code="sub_account_frozen")
    return sub_account


def _instrument(symbol: str) -> Instrument:
    try:
        instrument = Instrument.objects.get(symbol=symbol)
    except Instrument.DoesNotExist:
        raise NotFound(f"unknown symbol {symbol!r}") from None
    if instrument.status != Instrument.Status.TRADING:
        raise AppError(f"{symbol} is not trading", code="symbol_halted")
    return instrument


def _client_order_id(intent: OrderIntent, sub_account: SubAccount) -> str:
    if intent.client_order_id is None:
        return client_id_make(sub_account.code, intent.origin, encode_base62(secrets.randbits(62)))
    parsed = client_id_parse(intent.client_order_id)
    if parsed is None:
        raise AppError(f"malformed client order id {intent.client_order_id!r}: expected PMS<sub8>_<TYPE>_<id>")
    if parsed.sub_account_code != sub_account.code:
        raise AppError(f"client order id {intent.client_order_id} belongs to another sub-account")
    return intent.client_order_id


def _time_in_force(intent: OrderIntent) -> TimeInForce | None:
    if intent.order_type is OrderType.MARKET:
        if intent.time_in_force is not None:
            raise AppError("a market order takes no time in force")
        return None
    return intent.time_in_force or TimeInForce.GTC


def order_register(
    *, intent: OrderIntent, reference_price: Decimal | None = None, clock: Clock = SYSTEM_CLOCK,
) -> Order:
    """Validate an order against the sub-account and the instrument, then commit it as pending_submit.

    Any refusal raises AppError with a message for the operator, and nothing is written.
    """
    try:
        side, order_type = Side(intent.side), OrderType(intent.order_type)
    except ValueError as exc:
        raise AppError(str(exc)) from None
    sub_account = _tradable_sub_account(intent.sub_account_id, intent.reduce_only)
    rules = _instrument(intent.symbol).to_domain()
    reason = order_rejection_reason(rules, order_type=order_type, quantity=intent.quantity, price=intent.price,
                                    reference_price=reference_price, reduce_only=intent.reduce_only)
    if reason is not None:
        raise AppError(reason, code="order_invalid")
    if intent.algo_run_id is not None and not AlgoRun.objects.filter(
            pk=intent.algo_run_id, sub_account_id=sub_account.pk).exists():
        raise NotFound(f"algo run {intent.algo_run_id} does not exist for {sub_account.name}")
    now = clock.now()
    return Order.objects.create(
        client_order_id=_client_order_id(intent, sub_account), sub_account=sub_account, symbol=rules.symbol,
        side=side.value, order_type=order_type.value, time_in_force=_time_in_force(intent), price=intent.price,
        quantity=intent.quantity, status=OrderStatus.PENDING_SUBMIT.value, reduce_only=intent.reduce_only,
        origin=intent.origin.value, algo_run_id=intent.algo_run_id, created_at=now, updated_at=now,
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
