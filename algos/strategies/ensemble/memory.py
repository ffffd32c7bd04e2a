"""The ensemble's memory across a restart, as plain JSON data: open trades with their exit plans, the entry
guard, adaptive weights, tuned parameters and the learning records (what `snapshot`/`restore` carry)."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from algos.strategies.ensemble.exits import ExitOrder, ExitPlan
from algos.strategies.ensemble.learning import Adjustment, TradeRecord

if TYPE_CHECKING:
    from algos.strategies.ensemble.strategy import EnsembleStrategy, _Trade

MEMORY_VERSION = 1
RECORDS_KEPT = 200  # learning looks at the last `every` (50) trades; older ones only fill the report


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _plan_save(plan: ExitPlan | None) -> dict[str, Any] | None:
    return None if plan is None else _plain(asdict(plan))


def _plan_load(saved: dict[str, Any] | None) -> ExitPlan | None:
    if saved is None:
        return None
    plan = ExitPlan(direction=int(saved["direction"]), entry=Decimal(saved["entry"]),
                    quantity=Decimal(saved["quantity"]), stop=Decimal(saved["stop"]),
                    take_profits=[Decimal(p) for p in saved["take_profits"]],
                    parts=[Decimal(p) for p in saved["parts"]],
                    activation=Decimal(saved["activation"]), trail_fraction=Decimal(saved["trail_fraction"]),
                    best=Decimal(saved["best"]))
    plan.remaining = Decimal(saved["remaining"])  # after __post_init__, which fills a zero remaining with the quantity
    plan.next_tp, plan.trailing, plan.done = int(saved["next_tp"]), bool(saved["trailing"]), bool(saved["done"])
    plan.trail_stop = None if saved["trail_stop"] is None else Decimal(saved["trail_stop"])
    plan.exits = [ExitOrder(Decimal(e["quantity"]), str(e["reason"])) for e in saved["exits"]]
    return plan


def _trade_save(trade: _Trade) -> dict[str, Any]:
    saved = {f.name: getattr(trade, f.name) for f in fields(trade) if f.name != "plan"}
    return {**_plain(saved), "plan": _plan_save(trade.plan)}


def _trade_load(saved: dict[str, Any]) -> _Trade:
    from algos.strategies.ensemble.strategy import _Trade

    trade = _Trade(str(saved["symbol"]), int(saved["direction"]), int(saved["signal_ms"]), Decimal(saved["atr"]),
                   float(saved["confidence"]), str(saved["regime"]), str(saved["session"]), str(saved["volatility"]),
                   tuple(saved["voters"]))
    for name in ("filled", "entry_cost", "exited", "exit_value", "fees"):
        setattr(trade, name, Decimal(saved[name]))
    trade.entry_ms = int(saved["entry_ms"])
    trade.exit_reasons = list(saved["exit_reasons"])
    trade.plan = _plan_load(saved["plan"])
    return trade


def _record_save(record: TradeRecord) -> dict[str, Any]:
    return {f.name: _plain(getattr(record, f.name)) for f in fields(record)}


def _record_load(saved: dict[str, Any]) -> TradeRecord:
    return TradeRecord(str(saved["symbol"]), int(saved["direction"]), int(saved["entry_ms"]), int(saved["exit_ms"]),
                       Decimal(saved["entry_price"]), Decimal(saved["quantity"]), Decimal(saved["pnl"]),
                       float(saved["confidence"]), str(saved["regime"]), str(saved["session"]),
                       str(saved["volatility"]), tuple(saved["voters"]), str(saved["exit_reason"]))


def _adjustment_load(saved: dict[str, Any]) -> Adjustment:
    return Adjustment(str(saved["parameter"]), Decimal(saved["current"]), Decimal(saved["proposed"]),
                      str(saved["reason"]), int(saved["after_trades"]))


def _records_kept(count: int, every: int) -> int:
    """The last records, as many as keep `count % every` (when the learner proposes next) the same."""
    if count <= RECORDS_KEPT:
        return max(count, 1)
    return max(RECORDS_KEPT - every, 0) + count % every or every


def ensemble_snapshot(strategy: EnsembleStrategy) -> dict[str, Any]:
    guard, learner = strategy.guard, strategy.learner
    return {
        "version": MEMORY_VERSION,
        "trades": [_trade_save(trade) for trade in strategy._trades.values()],
        "guard": {"day": guard.day, "day_open": str(guard.day_open), "peak": str(guard.peak),
                  "entries": list(guard._entries)},
        "weights": dict(strategy.weights.performance),
        "tunable": _plain(strategy.tunable),
        "halted_reason": strategy.halted_reason,
        "records": [_record_save(r) for r in learner.records[-_records_kept(len(learner.records), learner.every):]],
        "proposals": [_plain(asdict(a)) for a in learner.proposals[-RECORDS_KEPT:]],
        "applied": [_plain(asdict(a)) for a in learner.applied[-RECORDS_KEPT:]],
        "closed": len(strategy.closed),
    }


def ensemble_restore(strategy: EnsembleStrategy, saved: dict[str, Any]) -> None:
    """Raises ValueError (KeyError, InvalidOperation) on memory it cannot read: the runner fails the run with it."""
    if saved.get("version") != MEMORY_VERSION:
        raise ValueError(f"ensemble memory version {saved.get('version')!r} is not {MEMORY_VERSION}")
    trades = [_trade_load(item) for item in saved["trades"]]
    records = [_record_load(item) for item in saved["records"]]
    guard = saved["guard"]
    strategy._trades = {trade.symbol: trade for trade in trades}
    strategy.guard.day = guard["day"]
    strategy.guard.day_open, strategy.guard.peak = Decimal(guard["day_open"]), Decimal(guard["peak"])
    strategy.guard._entries = deque(int(t) for t in guard["entries"])
    strategy.weights.performance.update({name: float(value) for name, value in saved["weights"].items()})
    strategy.tunable.update({name: Decimal(value) for name, value in saved["tunable"].items()})
    strategy.halted_reason = saved.get("halted_reason")
    strategy.learner.records = records
    strategy.learner.proposals = [_adjustment_load(item) for item in saved["proposals"]]
    strategy.learner.applied = [_adjustment_load(item) for item in saved["applied"]]
    strategy.closed = list(records)
