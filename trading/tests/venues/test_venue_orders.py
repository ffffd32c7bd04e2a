"""Write outcomes of the ccxt venue against the simulated exchange over loopback."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trading.domain.orders import OrderStatus
from trading.domain.types import OrderType, Side, TimeInForce
from trading.venues.base import Accepted, Ambiguous, OrderRequest, Rejected

from .helpers import limit, market

pytestmark = pytest.mark.timeout(30)
D = Decimal


async def test_a_limit_order_is_accepted_with_our_client_id(venue: Any) -> None:
    outcome = await venue.place(limit("PMSa1b2c3d4_LMT_1", "0.010", "63000.0"))

    assert isinstance(outcome, Accepted)
    order = outcome.order
    assert (order.client_order_id, order.symbol, order.side, order.order_type) == (
        "PMSa1b2c3d4_LMT_1", "BTCUSDT", Side.BUY, OrderType.LIMIT)
    assert (order.status, order.quantity, order.price, order.filled_quantity) == (
        OrderStatus.NEW, D("0.010"), D("63000.0"), D(0))
    assert order.exchange_order_id.isdigit() and order.average_price is None


async def test_a_market_order_is_accepted_filled_at_the_ask(venue: Any) -> None:
    outcome = await venue.place(market("PMSa1b2c3d4_MKT_2", "0.010"))

    assert isinstance(outcome, Accepted)
    assert outcome.order.client_order_id == "PMSa1b2c3d4_MKT_2"
    assert outcome.order.status is OrderStatus.FILLED
    assert (outcome.order.filled_quantity, outcome.order.average_price) == (D("0.010"), D("64000.1"))


@pytest.mark.parametrize(("request_", "code"), [
    (limit("PMSrej_LMT_margin", "50.000", "63000.0"), -2019),
    (limit("PMSrej_LMT_notional", "0.001", "63000.0"), -4164),
    (limit("PMSrej_LMT_band", "0.010", "70000.0"), -1013),
    (limit("PMSrej_LMT_postonly", "0.010", "64000.1", tif=TimeInForce.GTX), -5022),
    (market("PMSrej_MKT_reduce", "0.010", side=Side.SELL, reduce_only=True), -2022),
], ids=["margin", "notional", "percent-price", "post-only", "reduce-only"])
async def test_a_definite_exchange_refusal_is_rejected_with_its_binance_code(
        venue: Any, request_: OrderRequest, code: int) -> None:
    outcome = await venue.place(request_)

    assert isinstance(outcome, Rejected)
    assert outcome.code == code and outcome.reason and outcome.retry_after_ms is None


async def test_a_duplicate_client_id_of_an_open_order_is_rejected_minus_4116(venue: Any) -> None:
    assert isinstance(await venue.place(limit("PMSdup_LMT_1")), Accepted)

    outcome = await venue.place(limit("PMSdup_LMT_1"))

    assert isinstance(outcome, Rejected) and outcome.code == -4116


async def test_a_quantity_off_the_step_is_refused_before_sending_not_rounded(venue: Any, sim: Any) -> None:
    outcome = await venue.place(limit("PMSgrid_LMT_1", "0.0105", "63000.0"))

    assert isinstance(outcome, Rejected) and outcome.code is None and "grid" in outcome.reason
    assert sim.engine.open_orders(sim.default_account["account_id"], None) == []


@pytest.mark.parametrize("fault", [
    {"kind": "drop_response"},
    {"kind": "error_after"},
    {"kind": "error_after", "code": -1007},
], ids=["dropped-response", "503-after-executing", "minus-1007"])
async def test_an_order_executed_without_a_clear_answer_is_ambiguous_and_found_by_client_id(
        venue: Any, sim: Any, fault: dict[str, Any]) -> None:
    await venue.instruments()  # markets and clock first: the fault is for the order request only
    await sim.add_fault(path="/fapi/v1/order", method="POST", count=1, **fault)

    outcome = await venue.place(limit("PMSamb_LMT_1", "0.010", "63000.0"))

    assert isinstance(outcome, Ambiguous)
    found = await venue.fetch_order(symbol="BTCUSDT", client_order_id="PMSamb_LMT_1")
    assert found is not None and found.status is OrderStatus.NEW and found.quantity == D("0.010")


async def test_an_ambiguous_market_order_that_filled_at_once_is_found_filled(venue: Any, sim: Any) -> None:
    await venue.instruments()
    await sim.add_fault(kind="error_after", code=-1007, path="/fapi/v1/order", method="POST", count=1)

    outcome = await venue.place(market("PMSamb_MKT_1", "0.010"))

    assert isinstance(outcome, Ambiguous) and outcome.code == -1007
    found = await venue.fetch_order(symbol="BTCUSDT", client_order_id="PMSamb_MKT_1")
    assert found is not None and found.status is OrderStatus.FILLED


async def test_a_batch_of_five_with_one_invalid_gives_four_accepted_and_one_rejected(venue: Any) -> None:
    requests = [limit(f"PMSbatch_LMT_{i}", "0.002", "63000.0") for i in range(5)]
    requests[2] = limit("PMSbatch_LMT_bad", "0.001", "63000.0")  # notional 63 < 100

    outcomes = await venue.place_batch(requests)

    assert [type(o) for o in outcomes] == [Accepted, Accepted, Rejected, Accepted, Accepted]
    assert [o.order.client_order_id for o in outcomes if isinstance(o, Accepted)] == [
        "PMSbatch_LMT_0", "PMSbatch_LMT_1", "PMSbatch_LMT_3", "PMSbatch_LMT_4"]
    rejected = outcomes[2]
    assert isinstance(rejected, Rejected) and rejected.code == -4164


async def test_a_batch_larger_than_five_is_sent_in_chunks_keeping_the_order(venue: Any) -> None:
    requests = [limit(f"PMSchunk_LMT_{i}", "0.002", "63000.0") for i in range(11)]

    outcomes = await venue.place_batch(requests)

    assert all(isinstance(o, Accepted) for o in outcomes)
    assert [o.order.client_order_id for o in outcomes if isinstance(o, Accepted)] == [
        r.client_order_id for r in requests]


async def test_amend_changes_price_and_quantity_keeping_the_ids(venue: Any) -> None:
    placed = await venue.place(limit("PMSamend_LMT_1", "0.010", "63000.0"))
    assert isinstance(placed, Accepted)

    outcome = await venue.amend(symbol="BTCUSDT", client_order_id="PMSamend_LMT_1", side=Side.BUY,
                                quantity=D("0.020"), price=D("63000.5"))

    assert isinstance(outcome, Accepted)
    assert outcome.order.exchange_order_id == placed.order.exchange_order_id
    assert (outcome.order.quantity, outcome.order.price) == (D("0.020"), D("63000.5"))


async def test_cancel_returns_the_cancelled_order(venue: Any) -> None:
    await venue.place(limit("PMScxl_LMT_1"))

    outcome = await venue.cancel(symbol="BTCUSDT", client_order_id="PMScxl_LMT_1")

    assert isinstance(outcome, Accepted) and outcome.order.status is OrderStatus.CANCELED


async def test_cancelling_an_unknown_order_is_rejected_minus_2011(venue: Any) -> None:
    outcome = await venue.cancel(symbol="BTCUSDT", client_order_id="PMSnobody_LMT_1")

    assert isinstance(outcome, Rejected) and outcome.code == -2011


async def test_cancel_batch_reports_each_order(venue: Any) -> None:
    for i in range(2):
        await venue.place(limit(f"PMScb_LMT_{i}"))

    ids = ["PMScb_LMT_0", "PMScb_LMT_x", "PMScb_LMT_1"]

    outcomes = await venue.cancel_batch(symbol="BTCUSDT", client_order_ids=ids)

    assert isinstance(outcomes[0], Accepted) and outcomes[0].order.status is OrderStatus.CANCELED
    assert isinstance(outcomes[1], Rejected) and outcomes[1].code in (-2011, -2013)
    assert isinstance(outcomes[2], Accepted) and outcomes[2].order.client_order_id == "PMScb_LMT_1"


async def test_fetching_an_unknown_order_gives_none(venue: Any) -> None:
    assert await venue.fetch_order(symbol="BTCUSDT", client_order_id="PMSnobody_LMT_2") is None


async def test_an_unknown_symbol_is_rejected_without_a_request(venue: Any) -> None:
    outcome = await venue.place(OrderRequest("PMSsym_LMT_1", "DOGEUSDT", Side.BUY, OrderType.LIMIT, D(1), D(1)))

    assert isinstance(outcome, Rejected) and "unknown symbol" in outcome.reason
