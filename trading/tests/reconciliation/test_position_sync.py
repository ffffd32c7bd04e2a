"""Position sync against the simulated exchange: missed fills recovered with real ids, residuals to the house."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from core.clock import SYSTEM_CLOCK
from trading.domain.records import FillReport
from trading.domain.types import Side
from trading.models import ExchangePosition, Fill, Order, ReconciliationLog, VirtualPosition
from trading.reconciliation.config import ReconConfig
from trading.services.fills import fill_book

D = Decimal
KIND = ReconciliationLog.Kind.POSITION_SYNC


def held(name: str, symbol: str = "BTCUSDT") -> Decimal:
    row = VirtualPosition.objects.filter(sub_account__name=name, symbol=symbol).first()
    return row.quantity if row else D(0)


def net(symbol: str = "BTCUSDT") -> Decimal:
    return sum((row.quantity for row in VirtualPosition.objects.filter(symbol=symbol)), D(0))


def cid(sub, unique: str) -> str:
    return f"PMS{sub.code}_LMT_{unique}"


def test_a_desk_that_agrees_with_the_exchange_is_logged_as_matched(desk, exchange, sweep, events):
    log = sweep(KIND)
    assert (log.outcome, log.found, log.actions) == ("matched", [], [])
    assert events.of("reconciliation", kind="position_sync", outcome="matched")


def test_a_fill_whose_events_were_lost_is_booked_with_its_real_trade_id(desk, exchange, sweep):
    placed = exchange.trade("buy", "0.010", cid(desk["alpha"], "lost1"))
    log = sweep(KIND)
    fill = Fill.objects.get()
    assert fill.trade_key.startswith("BTCUSDT:") and not fill.is_synthetic
    assert fill.sub_account == desk["alpha"] and fill.client_order_id == placed["clientOrderId"]
    assert held("alpha") == D("0.010") == exchange.position()
    assert log.outcome == "acted" and [a["action"] for a in log.actions] == ["fill_booked"]
    assert ExchangePosition.objects.get(account=exchange.name, symbol="BTCUSDT").quantity == D("0.010")


def test_a_second_sweep_books_nothing_more(desk, exchange, sweep):
    exchange.trade("buy", "0.010", cid(desk["alpha"], "once1"))
    sweep(KIND)
    again = sweep(KIND)
    assert Fill.objects.count() == 1 and again.outcome == "matched"


def test_a_manual_trade_is_booked_to_the_house_with_an_alert(desk, exchange, sweep, events):
    exchange.trade("sell", "0.020")  # web_simN: not ours
    sweep(KIND)
    fill = Fill.objects.get()
    assert fill.sub_account == desk["house"] and not fill.is_synthetic
    assert net() == D("-0.020") == exchange.position()
    assert events.of("risk_alert", kind="external_fill", trade_key=fill.trade_key)


def test_a_difference_no_trade_explains_goes_to_the_house_once_with_a_deterministic_id(desk, exchange, sweep,
                                                                                          events):
    exchange.trade("buy", "0.020", cid(desk["alpha"], "res1"))
    sweep(KIND)
    # a fill the exchange never made (a bug, a lost reversal): Σ virtual now exceeds the exchange
    fill_book(report=FillReport("BOGUS:1", desk["beta"].pk, "BTCUSDT", Side.BUY, D("60000"), D("0.005"),
                                SYSTEM_CLOCK.now() - timedelta(minutes=5)))
    log = sweep(KIND)
    residual = Fill.objects.get(is_synthetic=True)
    assert residual.sub_account == desk["house"] and residual.side == "sell" and residual.quantity == D("0.005")
    assert residual.trade_key.startswith("RCN:BTCUSDT:")
    assert net() == exchange.position() == D("0.020")
    assert log.actions[-1]["action"] == "residual_to_house"
    assert events.of("risk_alert", kind="reconciliation_residual", trade_key=residual.trade_key)
    assert sweep(KIND).outcome == "matched" and Fill.objects.filter(is_synthetic=True).count() == 1


def test_a_difference_with_an_order_in_flight_is_tolerated_not_booked(desk, exchange, sweep):
    fill_book(report=FillReport("BOGUS:2", desk["beta"].pk, "BTCUSDT", Side.BUY, D("60000"), D("0.005"),
                                SYSTEM_CLOCK.now() - timedelta(minutes=5)))
    now = timezone.now()
    Order.objects.create(client_order_id=cid(desk["beta"], "fly1"), sub_account=desk["beta"], symbol="BTCUSDT",
                         side="sell", order_type="market", quantity=D("0.005"), status="unknown", origin="MKT",
                         created_at=now, updated_at=now)
    exchange.trade("buy", "0.010", cid(desk["alpha"], "fly2"))
    time.sleep(1.1)  # older than the snapshot margin: only the order in flight explains the difference
    log = sweep(KIND, config=ReconConfig(debounce_ms=0, activity_ms=0, in_flight_tolerance_ms=60_000))
    assert log.outcome == "acted"  # the lost fill is still booked: that is always safe
    assert not Fill.objects.filter(is_synthetic=True).exists()
    assert "BTCUSDT" in log.compared["unresolved"]
    assert any(f.get("tolerated") and f["reason"] == "an order is in flight" for f in log.found)


def test_a_snapshot_taken_before_a_fill_was_booked_never_undoes_it(desk, exchange, sweep, monkeypatch):
    """The engine books a fill right after the sweep read the exchange: the stale snapshot must not reverse it."""
    from trading.reconciliation import positions

    exchange.trade("buy", "0.010", cid(desk["alpha"], "st1"))
    sweep(KIND)
    store = positions.exchange_positions_store

    def engine_books_after_the_snapshot(**kwargs):
        exchange.trade("buy", "0.004", cid(desk["alpha"], "st2"))
        venue = exchange.venue()
        trades = asyncio.run(_trades(venue))
        for trade in trades:  # the engine books the new fill from its stream, after our snapshot
            fill_book(report=FillReport(trade.trade_key, desk["alpha"].pk, "BTCUSDT", trade.side, trade.price,
                                        trade.quantity, SYSTEM_CLOCK.now(), client_order_id=trade.client_order_id))
        store(**kwargs)

    monkeypatch.setattr(positions, "exchange_positions_store", engine_books_after_the_snapshot)
    log = sweep(KIND)
    assert log.compared["differing"] == ["BTCUSDT"]  # the snapshot said 0.010, the books 0.014
    assert not Fill.objects.filter(is_synthetic=True).exists()
    assert held("alpha") == D("0.014") == exchange.position()
    assert log.outcome == "tolerated"


async def _trades(venue):
    try:
        return await venue.trades_since(symbol="BTCUSDT", since_ms=0)
    finally:
        await venue.close()
