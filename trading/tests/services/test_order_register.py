"""order_register refuses bad orders with a readable reason and writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import AppError, NotFound
from trading.domain.client_ids import OrderOrigin, client_id_parse
from trading.domain.types import OrderType, Side
from trading.models import Order
from trading.services.orders import OrderIntent, order_register

D = Decimal


def intent(sub_account_id: int, **changes: object) -> OrderIntent:
    fields: dict[str, object] = {"sub_account_id": sub_account_id, "symbol": "BTCUSDT", "side": Side.BUY,
                                 "order_type": OrderType.LIMIT, "quantity": D("0.010"), "price": D("60000.10")}
    fields.update(changes)
    return OrderIntent(**fields)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_a_valid_limit_order_is_committed_as_pending_submit_with_a_routable_client_id(instruments, make_sub_account):
    sub = make_sub_account()
    order = order_register(intent=intent(sub.pk, origin=OrderOrigin.CHS))
    parsed = client_id_parse(order.client_order_id)
    assert order.status == "pending_submit" and order.time_in_force == "GTC"
    assert parsed is not None and parsed.sub_account_code == sub.code and parsed.origin is OrderOrigin.CHS


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "message"), [
    ({"price": D("60000.15")}, "not on the tick size 0.1"),
    ({"quantity": D("0.0105")}, "not a multiple of the step size 0.001"),
    ({"quantity": D("-0.01")}, "quantity must be positive"),
    ({"quantity": D("0")}, "quantity must be positive"),
    ({"quantity": D("0.001")}, "below the minimum 100"),
    ({"symbol": "DOGEUSDT"}, "unknown symbol .DOGEUSDT."),
    ({"client_order_id": "my-order-1"}, "malformed client order id"),
    ({"order_type": OrderType.MARKET, "price": None, "time_in_force": "GTC"}, "no time in force"),
    ({"price": None}, "a limit order needs a price"),
])
def test_a_bad_order_gets_a_clear_error_and_writes_nothing(instruments, make_sub_account, changes, message):
    sub = make_sub_account()
    with pytest.raises(AppError, match=message):
        order_register(intent=intent(sub.pk, **changes))
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_an_order_for_an_unknown_sub_account_is_refused(instruments):
    with pytest.raises(NotFound, match="sub-account 424242 does not exist"):
        order_register(intent=intent(424242))
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_a_frozen_sub_account_may_only_reduce(instruments, make_sub_account):
    sub = make_sub_account(status="frozen")
    with pytest.raises(AppError, match="frozen"):
        order_register(intent=intent(sub.pk))
    assert Order.objects.count() == 0
    assert order_register(intent=intent(sub.pk, side=Side.SELL, reduce_only=True)).reduce_only


@pytest.mark.django_db
def test_a_client_id_of_another_sub_account_is_refused(instruments, make_sub_account):
    alpha, beta = make_sub_account("alpha"), make_sub_account("beta")
    foreign = f"PMS{beta.code}_LMT_abc123"
    with pytest.raises(AppError, match="belongs to another sub-account"):
        order_register(intent=intent(alpha.pk, client_order_id=foreign))
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_a_limit_price_outside_the_band_around_the_mark_is_refused(instruments, make_sub_account):
    sub = make_sub_account()
    with pytest.raises(AppError, match="outside the band"):
        order_register(intent=intent(sub.pk, price=D("70000.00")), reference_price=D("60000"))
