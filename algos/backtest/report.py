"""What a backtest did, from its fills and its decision trace: figures for people and for the parity test."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from algos.backtest.session import ALGO_RUN_ID, BacktestResult
from algos.backtest.world import SUB_ACCOUNT_ID, AlgoEvent, BacktestWorld, SentOrder
from core.clock import datetime_to_ms

BPS = Decimal(10_000)
TraceTuple = tuple[str, int, str, Decimal | None, Decimal | None]


@dataclass(frozen=True, slots=True)
class FillRow:
    time_ms: int
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    is_maker: bool
    by_algo: bool  # False for the position a trail stop was given to protect


def _first(data: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = data.get(name)
        if value is not None:
            return value
    return None


def trace_entry(entry: object, sides: dict[int, str]) -> dict[str, Any]:
    """One decision as plain data: kind, time, side, price, quantity, plus the note or reason."""
    if isinstance(entry, SentOrder):
        return {"kind": f"order_{entry.kind}", "time": entry.time_ms, "side": entry.side, "price": entry.price,
                "quantity": entry.quantity, "order_type": entry.order_type}
    assert isinstance(entry, AlgoEvent)  # noqa: S101 - the trace holds nothing else
    data = entry.data
    side = data.get("side") or sides.get(data.get("algo_run_id") or 0, "")
    row: dict[str, Any] = {"kind": entry.kind, "time": entry.time_ms, "side": str(side),
                           "price": _first(data, "price", "extreme"),
                           "quantity": _first(data, "remaining", "quantity", "filled", "refused")}
    for extra in ("note", "reason", "filled", "reprices"):
        if extra in data:
            row[extra] = data[extra]
    return row


def decision_trace(world: BacktestWorld) -> list[dict[str, Any]]:
    """Every algo event and every order request, in the order they happened (the parity test's input)."""
    sides = {run_id: str(record.parameters.get("side", "")) for run_id, record in world.runs.items()}
    return [trace_entry(entry, sides) for entry in world.trace]


def decision_tuples(world: BacktestWorld) -> list[TraceTuple]:
    """The trace as (kind, time_ms, side, price, quantity) tuples."""
    return [(row["kind"], row["time"], row["side"], row["price"], row["quantity"]) for row in decision_trace(world)]


def fill_rows(world: BacktestWorld) -> list[FillRow]:
    rows = []
    for report in world.journal.fills.values():
        if report.sub_account_id != SUB_ACCOUNT_ID:
            continue
        order = world.journal.orders.get(report.client_order_id)
        rows.append(FillRow(datetime_to_ms(report.executed_at), report.side.value, report.price, report.quantity,
                            report.fee, report.is_maker, bool(order and order.algo_run_id == ALGO_RUN_ID)))
    return rows


def slippage_bps(side: str, average: Decimal, reference: Decimal) -> Decimal:
    """Signed so that positive is worse: paying above the reference, or selling below it."""
    signed = average - reference if side == "buy" else reference - average
    return (signed / reference * BPS).quantize(Decimal("0.01"))


def side_summary(rows: Iterable[FillRow], reference: Decimal | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for side in ("buy", "sell"):
        mine = [row for row in rows if row.side == side]
        if not mine:
            continue
        quantity = sum((row.quantity for row in mine), Decimal(0))
        notional = sum((row.price * row.quantity for row in mine), Decimal(0))
        average = notional / quantity
        out[side] = {"fills": len(mine), "quantity": quantity, "notional": notional, "average_price": average,
                     "fees": sum((row.fee for row in mine), Decimal(0)),
                     "slippage_bps": slippage_bps(side, average, reference) if reference else None}
    return out


def replace_count(sent: list[SentOrder]) -> int:
    """Reprices: a cancel followed at the same instant by a new order on the same side (cancel-then-place)."""
    return sum(1 for cancel, place in itertools.pairwise(sent)
               if cancel.kind == "cancel" and place.kind == "place" and cancel.time_ms == place.time_ms
               and cancel.side == place.side)


def report_build(result: BacktestResult) -> dict[str, Any]:
    world, stats, request = result.world, result.stats, result.request
    rows = fill_rows(world)
    algo_rows = [row for row in rows if row.by_algo]
    reference = result.decision_mid if request.kind == "trail_stop" else result.arrival_mid
    position = world.position(request.symbol)
    sent = world.venue.sent
    simulated_ms = (stats.last_ms or 0) - (stats.first_ms or 0)
    return {
        "algo": request.algo, "symbol": request.symbol, "side": request.side, "quantity": request.quantity,
        "parameters": request.params, "data": request.data, "seed": request.seed, "outcome": result.outcome,
        "arrival_mid": result.arrival_mid,
        "reference_mid": reference,
        "reference": "mid when the stop triggered" if request.kind == "trail_stop" else "arrival mid",
        "fills": len(algo_rows),
        "filled_quantity": sum((row.quantity for row in algo_rows), Decimal(0)),
        "by_side": side_summary(algo_rows, reference),
        "orders_sent": sum(1 for order in sent if order.kind == "place"),
        "cancels_sent": sum(1 for order in sent if order.kind == "cancel"),
        "reprices": replace_count(sent),
        "realized_pnl": position.realized_pnl,
        "fees": position.fees,
        "net_realized_pnl": position.net_realized_pnl,
        "position_after": position.quantity,
        "simulated_s": round(simulated_ms / 1000, 3),
        "wall_s": round(result.wall_s, 3),
        "events": stats.events,
        "quotes": stats.quotes,
        "quotes_per_s": round(stats.quotes / result.wall_s) if result.wall_s > 0 else None,
        "fill_list": [{"time": row.time_ms, "side": row.side, "price": row.price, "quantity": row.quantity,
                       "fee": row.fee, "maker": row.is_maker, "by_algo": row.by_algo} for row in rows],
        "trace": decision_trace(world),
    }


def plain(value: Any) -> Any:
    """JSON-ready: Decimal as a string (money stays exact), containers walked."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def report_text(report: dict[str, Any]) -> str:
    lines = [f"backtest {report['algo']} {report['side']} {report['quantity']} {report['symbol']} "
             f"on {report['data']}: {report['outcome']}",
             f"  {report['reference']}: {report['reference_mid']}"]
    for side, figures in report["by_side"].items():
        slip = figures["slippage_bps"]
        lines.append(f"  {side}: {figures['fills']} fills, {figures['quantity']} at avg "
                     f"{figures['average_price']:.6f}, slippage {slip if slip is not None else '-'} bps "
                     "(positive = worse)")
    if not report["by_side"]:
        lines.append("  no fills")
    lines += [
        f"  orders sent {report['orders_sent']}, cancels {report['cancels_sent']}, reprices {report['reprices']}",
        f"  realized PnL {_money(report['realized_pnl'])}, fees {_money(report['fees'])}, "
        f"net {_money(report['net_realized_pnl'])}, "
        f"position after {report['position_after']}",
        f"  simulated {report['simulated_s']} s in {report['wall_s']} s wall; {report['quotes']} quotes "
        f"({report['quotes_per_s']} quotes/s)",
    ]
    return "\n".join(lines)


def _money(value: Decimal) -> str:
    """For reading: 8 decimals (the JSON keeps the exact figure)."""
    return f"{value.quantize(Decimal('0.00000001')).normalize():f}"
