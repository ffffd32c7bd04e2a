"""The report of a strategy backtest: PnL, risk-adjusted returns, trade statistics, slippage, exposure, breakers.

Money figures are Decimal sums over the booked fills; Sharpe, Sortino and drawdown come from the equity curve
(floats, sampled at every bar close; per-bar returns annualised, risk-free rate 0).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from decimal import Decimal
from itertools import pairwise
from typing import Any

from algos.strategies.backtest.data import timeframe_ms
from algos.strategies.backtest.run import FillRow, StrategyBacktestResult

D = Decimal
ZERO = D(0)
YEAR_MS = 365 * 86_400_000


def round_trips(fills: list[FillRow]) -> list[dict[str, Any]]:
    """Trades from flat to flat per symbol: PnL after fees, entry and exit times."""
    trips: list[dict[str, Any]] = []
    open_trip: dict[str, dict[str, Any]] = {}
    for fill in fills:
        trip = open_trip.get(fill.symbol)
        if trip is None:
            trip = open_trip[fill.symbol] = {"symbol": fill.symbol, "side": "long" if fill.side == "buy" else "short",
                                             "entry_ms": fill.time_ms, "pnl": ZERO, "fees": ZERO, "fills": 0}
        trip["pnl"] += fill.realized_pnl - fill.fee
        trip["fees"] += fill.fee
        trip["fills"] += 1
        if fill.position_after == 0:
            trip["exit_ms"] = fill.time_ms
            trip["exit_reason"] = fill.reason
            trips.append(open_trip.pop(fill.symbol))
    return trips


def _ratios(equity: list[float], bars_per_year: float) -> tuple[float, float]:
    returns = [b / a - 1 for a, b in pairwise(equity) if a > 0]
    if len(returns) < 2:
        return 0.0, 0.0
    mean = sum(returns) / len(returns)
    deviation = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    scale = math.sqrt(bars_per_year)
    return (mean / deviation * scale if deviation else 0.0), (mean / downside * scale if downside else 0.0)


def _drawdown(equity: list[float]) -> tuple[float, float, list[float]]:
    peak, worst_pct, worst_abs = -math.inf, 0.0, 0.0
    curve = []
    for value in equity:
        peak = max(peak, value)
        drop = peak - value
        pct = drop / peak * 100 if peak > 0 else 0.0
        curve.append(-pct)
        if pct > worst_pct:
            worst_pct, worst_abs = pct, drop
    return worst_pct, worst_abs, curve


def _slippage(fills: list[FillRow]) -> dict[str, str]:
    """Against the mid the strategy decided on: positive is a cost."""
    cost, notional = ZERO, ZERO
    for fill in fills:
        sign = 1 if fill.side == "buy" else -1
        cost += sign * (fill.price - fill.decision_price) * fill.quantity
        notional += fill.price * fill.quantity
    bps = cost / notional * 10_000 if notional else ZERO
    return {"total_usdt": f"{cost:.4f}", "average_bps": f"{bps:.3f}"}


def report_build(result: StrategyBacktestResult) -> dict[str, Any]:
    fills = result.fills
    equity = list(result.equity)
    trips = round_trips(fills)
    wins = [t["pnl"] for t in trips if t["pnl"] > 0]
    losses = [t["pnl"] for t in trips if t["pnl"] <= 0]
    gross_win, gross_loss = sum(wins, ZERO), -sum(losses, ZERO)
    days = max((result.last_ms - result.first_ms) / 86_400_000, 1e-9)
    bars_per_year = YEAR_MS / timeframe_ms(result.base_timeframe)
    sharpe, sortino = _ratios(equity, bars_per_year)
    worst_pct, worst_abs, _ = _drawdown(equity)
    exposure = list(result.exposure_notional)
    in_market = sum(1 for value in exposure if value > 0)
    realized = sum((f.realized_pnl for f in fills), ZERO)
    fees = sum((f.fee for f in fills), ZERO)
    strategy = result.strategy
    capital = result.request.capital
    return {
        "strategy": result.request.strategy, "symbols": list(result.symbols), "timeframe": result.base_timeframe,
        "parameters": dict(result.request.params), "seed": result.request.seed, "capital": str(capital),
        "chaos": [asdict(event) for event in result.request.chaos],
        "first_ms": result.first_ms, "last_ms": result.last_ms, "days": round(days, 3), "status": result.status,
        "bars": result.bars, "bars_delivered": result.bars_delivered, "ticks_delivered": result.ticks_delivered,
        "load_s": round(result.load_s, 3), "run_s": round(result.run_s, 3),
        "bars_per_s": round(result.bars / result.run_s) if result.run_s > 0 else None,
        "total_pnl": f"{result.final_equity - capital:.4f}", "realized_pnl": f"{realized:.4f}", "fees": f"{fees:.4f}",
        "return_pct": f"{(result.final_equity - capital) / capital * 100:.3f}",
        "final_equity": f"{result.final_equity:.4f}",
        "sharpe": round(sharpe, 3), "sortino": round(sortino, 3),
        "max_drawdown_pct": round(worst_pct, 3), "max_drawdown_usdt": round(worst_abs, 2),
        "trades": len(trips), "wins": len(wins), "losses": len(losses),
        "win_rate_pct": round(len(wins) / len(trips) * 100, 2) if trips else None,
        "average_win": f"{gross_win / len(wins):.4f}" if wins else None,
        "average_loss": f"{-gross_loss / len(losses):.4f}" if losses else None,
        "profit_factor": round(float(gross_win / gross_loss), 3) if gross_loss > 0 else None,
        "trades_per_day": round(len(trips) / days, 3), "fills": len(fills), "slippage": _slippage(fills),
        "exposure": {"time_in_market_pct": round(in_market / len(exposure) * 100, 2) if exposure else 0.0,
                     "average_notional_when_in": round(sum(exposure) / in_market, 2) if in_market else 0.0,
                     "max_notional": round(max(exposure, default=0.0), 2)},
        "breakers": [asdict(row) for row in result.breakers],
        "denied_orders": len(result.denials), "denials": result.denials[:50], "dropped": result.dropped[:50],
        "strategy_counters": dict(getattr(strategy, "counters", {})),
        "learning": _learning(strategy),
        "trade_list": [{**t, "pnl": f"{t['pnl']:.4f}", "fees": f"{t['fees']:.4f}"} for t in trips],
        "fill_list": [{"time_ms": f.time_ms, "symbol": f.symbol, "side": f.side, "price": str(f.price),
                       "quantity": str(f.quantity), "fee": str(f.fee), "reason": f.reason} for f in fills],
    }


def _learning(strategy: Any) -> dict[str, Any]:
    learner = getattr(strategy, "learner", None)
    if learner is None:
        return {}
    return {"enabled": learner.enabled, "trades_recorded": len(learner.records),
            "proposals": [{"parameter": a.parameter, "current": str(a.current), "proposed": str(a.proposed),
                           "reason": a.reason, "after_trades": a.after_trades} for a in learner.proposals],
            "weights": {k: round(v, 4) for k, v in strategy.weights.performance.items()}}


def _ms_text(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def report_text(report: dict[str, Any]) -> str:
    lines = [
        f"strategy backtest: {report['strategy']} on {', '.join(report['symbols'])} {report['timeframe']} "
        f"{_ms_text(report['first_ms'])} -> {_ms_text(report['last_ms'])} ({report['days']} days) — {report['status']}",
        f"  bars {report['bars']:,} ({report['bars_delivered']:,} on_bar, {report['ticks_delivered']:,} ticks) in "
        f"{report['run_s']} s ({report['bars_per_s']:,} bars/s; loading {report['load_s']} s)",
        f"  total PnL {report['total_pnl']} USDT ({report['return_pct']} %) on {report['capital']}; "
        f"fees {report['fees']}",
        f"  Sharpe {report['sharpe']}  Sortino {report['sortino']}  max drawdown {report['max_drawdown_pct']} % "
        f"({report['max_drawdown_usdt']} USDT)",
        f"  trades {report['trades']} ({report['trades_per_day']}/day)  win rate {report['win_rate_pct']} %  "
        f"average win {report['average_win']}  average loss {report['average_loss']}  "
        f"profit factor {report['profit_factor']}",
        f"  slippage {report['slippage']['total_usdt']} USDT ({report['slippage']['average_bps']} bps)  "
        f"time in market {report['exposure']['time_in_market_pct']} %  "
        f"max notional {report['exposure']['max_notional']}",
    ]
    if report["breakers"]:
        lines.append("  circuit breakers tripped:")
        lines.extend(f"    {_ms_text(row['time_ms'])} {row['scope']} -> {row['state']} ({row['trigger']}): "
                     f"{row['reason']}" for row in report["breakers"])
    else:
        lines.append("  circuit breakers: none tripped")
    if report["denied_orders"]:
        lines.append(f"  orders refused: {report['denied_orders']}")
    return "\n".join(lines)
