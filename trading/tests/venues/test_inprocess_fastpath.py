"""The in-process venue's typed path gives exactly what Binance's wire text gives: same answers, same events."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Sequence
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.clock import VirtualClock
from simexchange.core.engine import MatchingEngine
from simexchange.core.errors import ExchangeError
from simexchange.core.params import parse_new_order, parse_order_ref, typed_new_order, typed_order_ref
from simexchange.marketdata import BookTicker, MarkPrice
from trading.domain.types import OrderType, Side, TimeInForce
from trading.venues.base import Accepted, OrderEvent, OrderRequest, Rejected, UserEvent
from trading.venues.inprocess import InProcessVenue, order_params, typed_request

D = Decimal
START_MS = 1_700_000_000_000
BINANCE_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")

GOOD_QUANTITIES = [D("0.010"), D("0.01"), D("0.002"), D("0.5"), D("2.50")]
ODD_QUANTITIES = [D("1E+1"), D("-0.010"), D("-0"), D("0"), D("0.000000000000000000001"), D("123456789012345678901"),
                  D("0.0001"), D("NaN"), D("Infinity"), D("1000")]
QUANTITIES = GOOD_QUANTITIES + ODD_QUANTITIES
PRICE_OFFSETS = [D(0), D("0.1"), D("-0.1"), D("5"), D("-5"), D("0.05"), D("-50"), D("0.10"), D("-0.3")]
ODD_CLIENT_IDS = ["bad id!", "", "x" * 37]
CLIENT_IDS = [f"PMSalpha000_CHS_{n}" for n in range(6)] + ODD_CLIENT_IDS
SYMBOLS = ["BTCUSDT", "btcusdt", "ETHUSDT", "NOPEUSDT", ""]


def mostly(good: Sequence[object], odd: Sequence[object]) -> st.SearchStrategy[object]:
    """Well-formed values four times in five, so that orders rest, fill and cancel; odd ones the rest."""
    return st.integers(min_value=0, max_value=4).flatmap(
        lambda pick: st.sampled_from(good) if pick < 4 else st.sampled_from(odd))


place_op = st.tuples(
    st.just("place"), mostly(["BTCUSDT"], SYMBOLS[1:]), st.sampled_from(list(Side)),
    mostly([OrderType.LIMIT], [OrderType.MARKET]), mostly(GOOD_QUANTITIES, ODD_QUANTITIES),
    mostly(PRICE_OFFSETS, [None]), mostly([None, TimeInForce.GTC], list(TimeInForce)), mostly([False], [True]),
    mostly(CLIENT_IDS[:6], ODD_CLIENT_IDS))
cancel_op = st.tuples(st.just("cancel"), mostly(["BTCUSDT"], SYMBOLS[1:]), st.sampled_from(CLIENT_IDS))
quote_op = st.tuples(st.just("quote"), st.integers(min_value=-30, max_value=30))
operations = st.lists(st.one_of(place_op, place_op, place_op, cancel_op, quote_op), min_size=3, max_size=30)


class Twin:
    """One exchange and venue; the typed one and the wire one get the same calls."""

    def __init__(self, *, typed: bool) -> None:
        self.clock = VirtualClock(START_MS)
        self.exchange = MatchingEngine(clock=self.clock.now_ms)
        self.account_id = self.exchange.create_account(api_key="k", secret="s", deposit=D("100000"))
        self.venue = InProcessVenue(self.exchange, self.account_id)
        self.venue.typed = typed
        self.update_id = 0

    def quote(self, bid: Decimal) -> None:
        self.update_id += 1
        now = self.clock.now_ms()
        for symbol, level in (("BTCUSDT", bid), ("ETHUSDT", bid / 20)):
            level = level.quantize(D("0.1"))
            ask = level + D("0.1")
            self.exchange.on_mark_price(MarkPrice(symbol, level, level, level, D("0.0001"), now + 3_600_000, now))
            self.exchange.on_book_ticker(BookTicker(symbol, self.update_id, level, D("3"), ask, D("3"), now, now))


async def _run(twin: Twin, ops: list[tuple[object, ...]]) -> list[object]:
    seen: list[object] = []
    bid = D("60000.0")
    twin.quote(bid)
    for op in ops:
        twin.clock.advance(100)
        if op[0] == "place":
            _, symbol, side, order_type, quantity, offset, tif, reduce_only, cid = op
            price = None if offset is None else bid + offset  # type: ignore[operator]
            seen.append(await twin.venue.place(OrderRequest(cid, symbol, side, order_type, quantity, price, tif,  # type: ignore[arg-type]
                                                            reduce_only)))  # type: ignore[arg-type]
        elif op[0] == "cancel":
            seen.append(await twin.venue.cancel(symbol=op[1], client_order_id=op[2]))  # type: ignore[arg-type]
        else:
            bid += D("0.1") * op[1]  # type: ignore[operator]
            twin.quote(bid)
        seen.append(twin.venue.drain_user_events())
    seen.append(await twin.venue.open_orders())
    seen.append(await twin.venue.positions())
    seen.append(await twin.venue.balances())
    seen.append(twin.exchange.ledger_totals(twin.account_id))
    return seen


@settings(max_examples=150, deadline=None)
@given(ops=operations)
def test_the_typed_path_and_the_wire_path_give_the_same_answers_events_and_state(ops: list[tuple[object, ...]]) -> None:
    typed, wire = Twin(typed=True), Twin(typed=False)

    typed_seen = asyncio.run(_run(typed, ops))
    wire_seen = asyncio.run(_run(wire, ops))

    assert typed_seen == wire_seen


def _seeded_operations(seed: int, count: int) -> list[tuple[object, ...]]:
    rng = random.Random(seed)
    ops: list[tuple[object, ...]] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.45:
            order_type = OrderType.LIMIT if rng.random() < 0.85 else OrderType.MARKET
            ops.append(("place", "BTCUSDT" if rng.random() < 0.95 else rng.choice(SYMBOLS), rng.choice(list(Side)),
                        order_type, rng.choice(GOOD_QUANTITIES) if rng.random() < 0.9 else rng.choice(QUANTITIES),
                        rng.choice(PRICE_OFFSETS) if order_type is OrderType.LIMIT else None,
                        rng.choice([None, TimeInForce.GTC, TimeInForce.GTC, *TimeInForce]), rng.random() < 0.1,
                        rng.choice(CLIENT_IDS[:6]) if rng.random() < 0.95 else rng.choice(ODD_CLIENT_IDS)))
        elif roll < 0.7:
            ops.append(("cancel", "BTCUSDT", rng.choice(CLIENT_IDS[:6])))
        else:
            ops.append(("quote", rng.randint(-8, 8)))
    return ops


def test_a_long_seeded_session_fills_rests_and_cancels_the_same_both_ways() -> None:
    ops = _seeded_operations(20240718, 600)

    typed_seen = asyncio.run(_run(Twin(typed=True), ops))
    wire_seen = asyncio.run(_run(Twin(typed=False), ops))

    assert typed_seen == wire_seen
    outcomes = [entry for entry in typed_seen if isinstance(entry, Accepted | Rejected)]
    trades = [event for batch in typed_seen if isinstance(batch, list) for event in batch
              if isinstance(event, OrderEvent) and event.trade is not None]
    assert sum(isinstance(o, Accepted) for o in outcomes) > 150 and len(trades) > 30  # the session did trade


def test_a_well_formed_limit_order_takes_the_typed_path() -> None:
    exchange = MatchingEngine(clock=lambda: START_MS)
    request = OrderRequest("PMSalpha000_CHS_1", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.010"), D("60000.0"))

    assert typed_request(exchange, request) == parse_new_order(order_params(request), exchange.books)


def test_values_whose_wire_text_differs_take_the_wire_path() -> None:
    exchange = MatchingEngine(clock=lambda: START_MS)

    for quantity in (D("1E+1"), D("-0.010"), D("0.000000000000000000001"), D("NaN")):
        request = OrderRequest("PMSalpha000_CHS_1", "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity, D("60000.0"))
        assert typed_request(exchange, request) is None


finite_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None)


@given(value=st.one_of(finite_decimals, st.decimals(allow_nan=True, allow_infinity=True),
                       st.builds(lambda d, e: d.scaleb(e), finite_decimals, st.integers(-30, 30))))
def test_a_number_goes_typed_only_when_its_wire_text_parses_back_to_itself(value: Decimal) -> None:
    books = {"BTCUSDT": object()}
    typed = typed_new_order(books, symbol="BTCUSDT", side="BUY", order_type="LIMIT", quantity=value,
                            price=D("1.0"), time_in_force="GTC", reduce_only=False, client_order_id="c1")

    text = f"{value:f}"
    round_trips = BINANCE_DECIMAL.match(text) is not None and repr(D(text)) == repr(value)
    assert (typed is not None) == round_trips
    if typed is not None:
        params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": text, "price": "1.0",
                  "timeInForce": "GTC", "newClientOrderId": "c1", "newOrderRespType": "RESULT"}
        assert typed == parse_new_order(params, books)
        assert repr(typed.quantity) == repr(value)


@given(symbol=st.sampled_from(SYMBOLS), client_order_id=st.sampled_from(CLIENT_IDS))
def test_a_cancel_reference_goes_typed_only_when_the_parser_would_accept_it(symbol: str, client_order_id: str) -> None:
    books = {"BTCUSDT": object(), "ETHUSDT": object()}
    typed = typed_order_ref(books, symbol=symbol, orig_client_order_id=client_order_id)

    try:
        parsed = parse_order_ref({"symbol": symbol, "origClientOrderId": client_order_id}, books)
    except ExchangeError:  # a refusal: the typed path must not have claimed it
        parsed = None
    assert typed == parsed


def test_the_venue_gets_every_event_while_the_engine_bus_keeps_no_copy() -> None:
    twin = Twin(typed=True)
    twin.quote(D("60000.0"))

    outcome = asyncio.run(twin.venue.place(OrderRequest("PMSalpha000_CHS_1", "BTCUSDT", Side.BUY, OrderType.MARKET,
                                                        D("0.010"))))

    assert isinstance(outcome, Accepted)
    kinds = [event.execution_type if isinstance(event, OrderEvent) else "ACCOUNT"
             for event in twin.venue.drain_user_events()]
    assert kinds == ["NEW", "ACCOUNT", "TRADE"]
    assert twin.exchange.events.drain() == []


def test_a_stream_reader_waiting_on_the_venue_wakes_for_each_event_in_order() -> None:
    twin = Twin(typed=True)
    twin.quote(D("60000.0"))

    async def scenario() -> list[str]:
        stream = twin.venue.watch_user_events()

        async def first_event() -> UserEvent:
            return await anext(stream)

        reader = asyncio.create_task(first_event())
        await asyncio.sleep(0)  # the reader is waiting on an empty stream
        assert not reader.done()
        await twin.venue.place(OrderRequest("PMSalpha000_CHS_1", "BTCUSDT", Side.BUY, OrderType.MARKET, D("0.010")))
        first = await asyncio.wait_for(reader, 1)
        rest = [await asyncio.wait_for(anext(stream), 1) for _ in range(2)]
        return [event.execution_type if isinstance(event, OrderEvent) else "ACCOUNT" for event in [first, *rest]]

    assert asyncio.run(scenario()) == ["NEW", "ACCOUNT", "TRADE"]
