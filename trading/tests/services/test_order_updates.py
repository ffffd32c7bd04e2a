"""order_apply_update: out-of-order and duplicate exchange reports never move an order backwards."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import NotFound
from trading.domain.orders import OrderStatus, OrderUpdate
from trading.domain.types import OrderType, Side
from trading.services.orders import OrderIntent, order_apply_update, order_register

D = Decimal


@pytest.mark.django_db
def test_a_filled_report_before_new_leaves_the_order_filled(instruments, make_sub_account):
    sub = make_sub_account()
    order = order_register(intent=OrderIntent(sub.pk, "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.01"), D("60000")))
    cid = order.client_order_id
    order_apply_update(client_order_id=cid, update=OrderUpdate(OrderStatus.FILLED, D("0.01"), D("60000")),
                       exchange_order_id="123")
    late = order_apply_update(client_order_id=cid, update=OrderUpdate(OrderStatus.NEW, D("0")))
    order.refresh_from_db()
    assert late is None
    assert (order.status, order.filled_quantity, order.exchange_order_id) == ("filled", D("0.01"), "123")


@pytest.mark.django_db
def test_a_stale_partial_fill_report_does_not_shrink_the_filled_quantity(instruments, make_sub_account):
    sub = make_sub_account()
    order = order_register(intent=OrderIntent(sub.pk, "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.03"), D("60000")))
    cid = order.client_order_id
    order_apply_update(client_order_id=cid, update=OrderUpdate(OrderStatus.PARTIALLY_FILLED, D("0.02")))
    order_apply_update(client_order_id=cid, update=OrderUpdate(OrderStatus.PARTIALLY_FILLED, D("0.01")))
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("partially_filled", D("0.02"))


@pytest.mark.django_db
def test_an_update_for_an_unknown_client_id_is_refused():
    with pytest.raises(NotFound):
        order_apply_update(client_order_id="PMSabcdefgh_LMT_x", update=OrderUpdate(OrderStatus.NEW))


@pytest.mark.django_db
def test_a_burst_of_reports_folds_in_order_and_skips_unknown_ids(instruments, make_sub_account):
    from trading.services.orders import order_apply_updates

    sub = make_sub_account()
    order = order_register(intent=OrderIntent(sub.pk, "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.03"), D("60000")))
    cid = order.client_order_id
    changed = order_apply_updates(updates=[
        (cid, OrderUpdate(OrderStatus.NEW), "77"),
        ("PMSzzzzzzzz_LMT_nobody", OrderUpdate(OrderStatus.FILLED), None),
        (cid, OrderUpdate(OrderStatus.PARTIALLY_FILLED, D("0.02"), D("60000")), "77"),
        (cid, OrderUpdate(OrderStatus.PARTIALLY_FILLED, D("0.01"), D("60000")), "77"),  # stale
    ])
    order.refresh_from_db()
    assert [o.client_order_id for o in changed] == [cid]
    assert (order.status, order.filled_quantity, order.exchange_order_id) == ("partially_filled", D("0.02"), "77")
