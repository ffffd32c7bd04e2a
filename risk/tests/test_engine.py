"""RiskEngine in the engine: over the in-process matching core through the real OrderManager."""

from __future__ import annotations

from decimal import Decimal

from risk.domain.limits import SubAccountLimits
from risk.domain.margin import Bracket
from risk.domain.states import Scope, TradingState, algo_scope, sub_account_scope
from risk.engine import MemoryRiskStore, RiskConfig, RiskEngine
from trading.domain.client_ids import OrderOrigin, client_id_parse
from trading.domain.records import FillBooked, FillReport, OrderIntent
from trading.domain.types import OrderType, Side
from trading.tests.engine.harness import ALPHA, BETA, Harness, make_harness
from trading.venues.base import OrderRequest, WriteOutcome

D = Decimal


async def with_risk(h: Harness, limits: dict[int, SubAccountLimits], wallets: dict[int, Decimal]
                    ) -> tuple[RiskEngine, MemoryRiskStore, list[Scope]]:
    tiers = await h.venue.leverage_brackets()
    brackets = {s: tuple(Bracket(t.notional_floor, t.notional_cap, t.max_leverage, t.maint_margin_ratio, t.cum)
                         for t in rows) for s, rows in tiers.items()}
    instruments = {rules.symbol: rules for rules in await h.venue.instruments()}
    stopped: list[Scope] = []

    async def stop_algos(scope: Scope) -> None:
        stopped.append(scope)

    store = MemoryRiskStore()
    risk = RiskEngine(manager=h.manager, brackets=brackets, instruments=instruments, store=store, clock=h.clock,
                      publish=h.manager.publish, stop_algos=stop_algos, config=RiskConfig(adl_cooldown_ms=5_000))
    risk.load(limits=limits, global_limits=risk.world.limits, states={}, wallets=wallets, positions=[])
    for symbol in ("BTCUSDT", "ETHUSDT"):
        l1 = h.exchange.market(symbol).quote
        assert l1 is not None
        risk.on_quote(symbol, bid=l1.bid_price, ask=l1.ask_price)
    h.manager.pre_trade = risk
    book_many = h.journal.fill_book_many

    async def booking(reports: list[FillReport]) -> list[FillBooked | None]:  # where run_engine hooks on_fill
        results = await book_many(reports)
        for booked in results:
            if booked is not None:
                risk.on_fill(booked)
        return results

    h.journal.fill_book_many = booking  # type: ignore[method-assign]
    return risk, store, stopped


def record_requests(h: Harness) -> list[OrderRequest]:
    sent: list[OrderRequest] = []
    place = h.venue.place

    async def recording(request: OrderRequest) -> WriteOutcome:
        sent.append(request)
        return await place(request)

    h.venue.place = recording  # type: ignore[method-assign]
    return sent


def market(sub: int, side: Side, qty: str) -> OrderIntent:
    return OrderIntent(sub, "BTCUSDT", side, OrderType.MARKET, D(qty), origin=OrderOrigin.MKT)


def limit(sub: int, side: Side, qty: str, price: str, algo: int | None = None) -> OrderIntent:
    return OrderIntent(sub, "BTCUSDT", side, OrderType.LIMIT, D(qty), D(price), algo_run_id=algo,
                       origin=OrderOrigin.CHS if algo else OrderOrigin.LMT)


async def test_a_denied_order_never_reaches_the_venue_and_is_announced():
    h = await make_harness()
    await with_risk(h, {ALPHA: SubAccountLimits(max_position_notional=D(5000))}, {ALPHA: D(10000)})
    sent = record_requests(h)
    result = await h.manager.place(market(ALPHA, Side.BUY, "0.100"))
    assert not result.ok and result.code == "position_notional"
    assert result.reason == "max position notional 5,000 USDT would be exceeded: 6,000.00"
    assert sent == []
    assert ("account.1", "order_rejected") in [(group, kind) for group, kind, _ in h.events]


async def test_halted_cancels_the_working_orders_in_scope_and_stops_its_algos_while_others_trade():
    h = await make_harness()
    risk, store, stopped = await with_risk(h, {}, {ALPHA: D(100000), BETA: D(100000)})
    working = await h.manager.place(limit(ALPHA, Side.BUY, "0.010", "59000.0"))
    other = await h.manager.place(limit(BETA, Side.BUY, "0.010", "59000.0"))
    assert working.ok and other.ok
    risk.manual_trip(sub_account_scope(ALPHA), TradingState.HALTED, "desk review")
    await risk.settle()
    open_ids = {o.client_order_id for o in h.exchange.open_orders(h.account_id, None)}
    assert working.client_order_id not in open_ids and other.client_order_id in open_ids
    assert stopped == [sub_account_scope(ALPHA)]
    assert [(scope, trip.state) for scope, trip in store.trips] == [(sub_account_scope(ALPHA), TradingState.HALTED)]
    denied = await h.manager.place(limit(ALPHA, Side.BUY, "0.010", "59000.0"))
    assert denied.code == "halted" and "desk review" in denied.reason
    assert (await h.manager.place(limit(BETA, Side.BUY, "0.010", "59000.0"))).ok


async def test_a_runaway_algo_is_halted_at_its_order_rate_and_no_order_beyond_it_is_sent():
    h = await make_harness()
    risk, store, stopped = await with_risk(h, {ALPHA: SubAccountLimits(max_orders_per_minute=5)},
                                           {ALPHA: D(100000), BETA: D(100000)})
    sent = record_requests(h)
    results = [await h.manager.place(limit(ALPHA, Side.BUY, "0.010", "59000.0", algo=7)) for _ in range(10)]
    await risk.settle()
    assert [r.ok for r in results] == [True] * 5 + [False] * 5
    assert results[5].code == "order_rate" and {r.code for r in results[6:]} == {"halted"}
    assert len(sent) == 5
    assert stopped == [algo_scope(7)]
    assert store.trips[0][1].kind.value == "order_rate"
    assert h.exchange.open_orders(h.account_id, None) == []  # the algo's working orders were cancelled
    assert (await h.manager.place(limit(BETA, Side.BUY, "0.010", "59000.0"))).ok


def price_for_ratio(risk: RiskEngine, target: Decimal) -> Decimal:
    """The BTC mark at which ALPHA's margin ratio is `target` (bisection over the engine's own figures)."""
    low, high = D(1000), D(60000)
    saved = risk.world.marks["BTCUSDT"]
    for _ in range(80):
        middle = (low + high) / 2
        risk.world.marks["BTCUSDT"] = middle
        if risk.margin_of(ALPHA).margin_ratio > target:
            low = middle
        else:
            high = middle
    risk.world.marks["BTCUSDT"] = saved
    return high.quantize(D("0.1"))


async def tick_to(h: Harness, risk: RiskEngine, price: Decimal) -> None:
    h.clock.advance(2.0)
    h.quote("BTCUSDT", str(price), str(price + D("0.1")))
    risk.on_quote("BTCUSDT", mark=price)
    await risk.settle()
    await h.pump()


async def test_adl_reduces_thirty_then_fifty_percent_then_everything_as_the_ratio_crosses_each_tier():
    h = await make_harness()
    risk, store, _ = await with_risk(h, {}, {ALPHA: D(1000)})
    assert (await h.manager.place(market(ALPHA, Side.BUY, "0.300"))).ok
    await h.pump()
    for target in (D("0.91"), D("0.935"), D("0.96")):
        await tick_to(h, risk, price_for_ratio(risk, target))
    adl_events = [data for _, kind, data in h.events if kind == "adl_triggered"]
    assert [e["tier"] for e in adl_events] == [1, 2, 3]
    assert [(a["tier"], a["quantity"]) for a in store.adl] == [(1, D("0.090")), (2, D("0.105")), (3, D("0.105"))]
    assert all(client_id_parse(a["client_order_id"]).origin is OrderOrigin.ADL for a in store.adl)  # type: ignore[union-attr]
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == 0
    assert h.exchange_position("BTCUSDT") == 0


async def test_ticks_re_evaluate_a_holder_at_most_every_two_seconds():
    h = await make_harness()
    risk, _, _ = await with_risk(h, {}, {ALPHA: D(100000)})
    await h.manager.place(market(ALPHA, Side.BUY, "0.010"))
    await h.pump()
    await risk.settle()
    updates = len([1 for _, kind, _ in h.events if kind == "margin_updated"])
    h.clock.advance(2.0)
    for price in ("60010", "60020", "60030"):
        risk.on_quote("BTCUSDT", mark=D(price))
        h.clock.advance(0.5)
    await risk.settle()
    assert len([1 for _, kind, _ in h.events if kind == "margin_updated"]) == updates + 1
    risk.on_quote("ETHUSDT", mark=D("3100"))  # a symbol ALPHA does not hold
    await risk.settle()
    assert len([1 for _, kind, _ in h.events if kind == "margin_updated"]) == updates + 1


async def test_a_tick_held_by_many_sub_accounts_decides_at_once_and_snapshots_follow_in_batches():
    h = await make_harness()
    risk, _, _ = await with_risk(h, {}, {})
    batches: list[list[int]] = []

    async def sink(items: list[tuple[int, dict]]) -> None:
        batches.append([sub_account_id for sub_account_id, _ in items])

    risk.snapshots = sink
    subs = range(1000, 1600)
    risk.load(limits={}, global_limits=risk.world.limits, states={}, wallets=dict.fromkeys(subs, D(1000)),
              positions=[(sub, "BTCUSDT", D("-0.010"), D(60000)) for sub in subs])
    h.clock.advance(2.0)
    before = len(h.events)

    risk.on_quote("BTCUSDT", mark=D(59000))

    assert all(risk.subs[sub].totals.margin_balance == D(1010) for sub in subs)  # type: ignore[union-attr]
    assert len(h.events) == before  # no snapshot built yet: the tick only decided
    await risk.settle()
    assert [len(batch) for batch in batches] == [250, 250, 100]
    assert sorted(sub for batch in batches for sub in batch) == list(subs)
    updates = [data for _, kind, data in h.events[before:] if kind == "margin_updated"]
    assert len(updates) == 600
    [position] = updates[0]["positions"]
    assert D(position["liquidation_price"]) == (D(1000) + D("0.010") * D(60000)) / (D("0.010") * D("0.004")
                                                                                     + D("0.010"))


async def test_equity_rows_are_due_for_saving_only_when_the_day_open_or_peak_moved():
    h = await make_harness()
    risk, _, _ = await with_risk(h, {}, {ALPHA: D(1000)})
    risk.load(limits={}, global_limits=risk.world.limits, states={}, wallets={}, positions=[],
              equity={ALPHA: (ALPHA, h.clock.now_ms() // 86_400_000, D(1200), D(1500))})
    risk.evaluate(ALPHA)  # 1,000: below the saved opening and peak, which stay
    assert risk.equity_unsaved() == []
    risk.on_wallet_change(ALPHA, D(600))  # 1,600: a new peak
    rows = risk.equity_unsaved()
    assert rows == [(ALPHA, h.clock.now_ms() // 86_400_000, D(1200), D(1600))]
    risk.equity_saved(rows)
    assert risk.equity_unsaved() == []
    await risk.settle()


async def test_the_snapshot_carries_each_positions_realized_pnl_and_fees_from_load_and_from_fills():
    h = await make_harness()
    risk, _, _ = await with_risk(h, {}, {ALPHA: D(100000)})
    risk.load(limits={}, global_limits=risk.world.limits, states={}, wallets={ALPHA: D(100000)},
              positions=[(ALPHA, "ETHUSDT", D("1"), D("3000"))], booked={(ALPHA, "ETHUSDT"): (D("7.5"), D("0.2"))})
    assert (await h.manager.place(market(ALPHA, Side.BUY, "0.010"))).ok
    assert await h.pump() > 0

    snapshot = risk.snapshot(ALPHA)
    rows = {row["symbol"]: row for row in snapshot["positions"]}

    assert snapshot["booked"] is True
    assert (rows["ETHUSDT"]["realized_pnl"], rows["ETHUSDT"]["fees"]) == ("7.5", "0.2")
    assert rows["BTCUSDT"]["quantity"] == "0.010" and rows["BTCUSDT"]["realized_pnl"] == "0"
    assert D(rows["BTCUSDT"]["fees"]) > 0  # the taker fee of the fill
