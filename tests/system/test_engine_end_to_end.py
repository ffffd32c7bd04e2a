"""The engine end to end over real processes and sockets (RELIABILITY #2, #3, #5, #12; bad commands)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import AppError, NotFound
from trading.models import EngineCommand, Fill, Order, VirtualPosition

from .harness import System, virtual_net, wait_until

D = Decimal
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def position(name: str, symbol: str = "BTCUSDT") -> Decimal:
    row = VirtualPosition.objects.filter(sub_account__name=name, symbol=symbol).first()
    return row.quantity if row else D(0)


def test_two_sub_accounts_trading_one_symbol_both_ways_book_right_and_sum_to_the_exchange(system: System):
    for name, side, quantity in (("alpha", "buy", "0.020"), ("beta", "sell", "0.010")):
        placed = system.command("place_order", sub_account=name, symbol="BTCUSDT", side=side, quantity=quantity)
        assert placed.status == "done", placed.error
    wait_until(lambda: Fill.objects.count() == 2, what="both fills booked")
    system.quote("BTCUSDT", "61000.0", "61000.1")
    # beta closes its short: a buy that reduces beta but lengthens the exchange's net long (no -2022)
    close = system.command("place_order", sub_account="beta", symbol="BTCUSDT", side="buy", quantity="0.010",
                           reduce_only=True)
    assert close.status == "done", close.error
    wait_until(lambda: Fill.objects.count() == 3, what="the close booked")
    beta = VirtualPosition.objects.get(sub_account__name="beta", symbol="BTCUSDT")
    fills = {f.sub_account.name + f.side: f for f in Fill.objects.select_related("sub_account")}
    assert (position("alpha"), beta.quantity) == (D("0.020"), D("0"))
    assert beta.realized_pnl == (fills["betasell"].price - fills["betabuy"].price) * D("0.010")
    assert beta.fees == fills["betasell"].fee + fills["betabuy"].fee > 0
    assert virtual_net() == system.exchange_position("BTCUSDT") == D("0.020")


def test_duplicated_user_events_are_booked_once(system: System):
    system.fault(kind="ud_duplicate")
    for side in ("buy", "buy", "sell"):
        system.command("place_order", sub_account="alpha", symbol="BTCUSDT", side=side, quantity="0.005")
    wait_until(lambda: Fill.objects.count() == 3, what="three fills")
    wait_until(lambda: system.metric("pms_fills_duplicate_total") >= 3, what="duplicates counted")
    assert position("alpha") == D("0.005") == system.exchange_position("BTCUSDT")


def test_reordered_user_events_never_move_an_order_backwards(system: System):
    system.fault(kind="ud_reorder")
    placed = system.command("place_order", sub_account="alpha", symbol="BTCUSDT", side="buy", quantity="0.010",
                            price="59990.0")
    client_order_id = placed.result["client_order_id"]
    system.quote("BTCUSDT", "59980.0", "59980.1")  # trades through the resting buy
    system.quote("BTCUSDT", "59981.0", "59981.1")  # one more event releases the held-back one
    wait_until(lambda: Order.objects.get(client_order_id=client_order_id).status == "filled", what="filled")
    assert position("alpha") == D("0.010") == system.exchange_position("BTCUSDT")


@pytest.mark.parametrize("price", ["59000.0", None], ids=["resting-limit", "instant-market-fill"])
def test_a_place_whose_answer_is_lost_after_executing_leaves_exactly_one_order(system: System, price):
    system.fault(kind="drop_response", path="/fapi/v1/order", method="POST", count=1)
    placed = system.command("place_order", sub_account="alpha", symbol="BTCUSDT", side="buy", quantity="0.010",
                            price=price)
    assert placed.status == "done" and placed.result["status"] == "unknown"
    client_order_id = placed.result["client_order_id"]
    expected = "new" if price else "filled"
    wait_until(lambda: Order.objects.get(client_order_id=client_order_id).status == expected, what=expected)
    assert len(system.exchange_orders("BTCUSDT")) == 1
    if price is None:
        wait_until(lambda: position("alpha") == D("0.010"), what="the fill booked")
        assert system.exchange_position("BTCUSDT") == D("0.010")


@pytest.mark.parametrize(("payload", "message"), [
    ({"quantity": "0.010", "price": "60000.05"}, "not on the tick size"),
    ({"quantity": "0.001", "price": "60000.0"}, "below the minimum 100"),
    ({"quantity": "0.010", "sub_account": "frozen"}, "frozen"),
])
def test_a_bad_order_command_fails_with_the_reason_and_nothing_is_sent(system: System, payload, message):
    fields = {"sub_account": "alpha", "symbol": "BTCUSDT", "side": "buy", **payload}
    result = system.command("place_order", **fields)
    assert result.status == "failed" and message in result.error
    assert system.exchange_orders("BTCUSDT") == []


@pytest.mark.parametrize(("payload", "error"), [
    ({"sub_account": "nobody", "symbol": "BTCUSDT", "side": "buy", "quantity": "1"}, NotFound),
    ({"sub_account": "alpha", "symbol": "DOGEUSDT", "side": "buy", "quantity": "1"}, NotFound),
    ({"sub_account": "alpha", "symbol": "BTCUSDT", "side": "buy", "quantity": "-1"}, AppError),
    ({"sub_account": "alpha", "symbol": "BTCUSDT", "side": "buy", "quantity": "0"}, AppError),
    ({"sub_account": "alpha", "symbol": "BTCUSDT", "side": "hold", "quantity": "1"}, AppError),
])
def test_a_malformed_command_is_refused_before_it_is_queued(system: System, payload, error):
    with pytest.raises(error):
        system.command("place_order", **payload)
    assert EngineCommand.objects.count() == 0 and system.exchange_orders("BTCUSDT") == []


def test_fills_made_while_the_user_stream_was_down_are_booked_after_it_returns(system: System):
    placed = system.command("place_order", sub_account="alpha", symbol="BTCUSDT", side="buy", quantity="0.010",
                            price="59990.0")
    client_order_id = placed.result["client_order_id"]
    system.fault(kind="ud_drop")  # the exchange keeps trading; the stream says nothing
    system.quote("BTCUSDT", "59980.0", "59980.1")
    system.control("/_sim/faults", method="DELETE")
    system.fault(kind="ws_disconnect", path="/private")
    wait_until(lambda: Order.objects.get(client_order_id=client_order_id).status == "filled", timeout_s=30,
               what="gap recovery to book the fill")
    assert position("alpha") == D("0.010") == system.exchange_position("BTCUSDT")
