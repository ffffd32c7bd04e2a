"""Stored strategy-backtest results: a folder per run (report.json, equity.png, equity.html) and an index.json
listing every run with its headline figures, newest last (what a dashboard page lists)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

DEFAULT_RESULTS = Path(".pms") / "strategy_backtests"
INDEX = "index.json"
HEADLINE = ("strategy", "symbols", "timeframe", "first_ms", "last_ms", "status", "total_pnl", "return_pct",
            "sharpe", "max_drawdown_pct", "trades", "win_rate_pct", "profit_factor", "seed")


def results_index(root: Path = DEFAULT_RESULTS) -> list[dict[str, Any]]:
    path = root / INDEX
    if not path.exists():
        return []
    loaded = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, list):
        raise ValueError(f"{path} is not a list of results")
    return loaded


def result_store(report: dict[str, Any], *, folder: Path, root: Path = DEFAULT_RESULTS, run_id: str) -> None:
    """Write report.json into the run's folder and add its headline to the index (written whole, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    root.mkdir(parents=True, exist_ok=True)
    entries = [entry for entry in results_index(root) if entry.get("id") != run_id]
    entries.append({"id": run_id, "folder": str(folder), **{key: report.get(key) for key in HEADLINE},
                    "breakers": len(report.get("breakers", ()))})
    temporary = root / f".{INDEX}.tmp"
    temporary.write_text(json.dumps(entries, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, root / INDEX)
