"""Throughput of the simulated exchange's price sources (events/s); prints figures, writes JSON."""

from __future__ import annotations

import itertools
import json
import platform
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simexchange.sources import CaptureReplay, CsvReplay, DerivedMarks, SyntheticSource, spec_for  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results" / "replay_sources.json"
REPEATS = 3


def best_rate(make: Callable[[], Iterable[object]]) -> dict[str, float]:
    """Best of REPEATS full passes: events, seconds and events per second."""
    best_seconds, count = float("inf"), 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        count = sum(1 for _ in make())
        best_seconds = min(best_seconds, time.perf_counter() - started)
    return {"events": count, "seconds": round(best_seconds, 3), "events_per_s": round(count / best_seconds)}


def cases() -> dict[str, Callable[[], Iterable[object]]]:
    ws = DATA / "binance-usdm-ws"
    btc_2024 = [ws / "btcusdt_20240718.gz", ws / "btcusdt_20240719.gz"]
    eth_2024 = [ws / "ethusdt_20240718.gz", ws / "ethusdt_20240719.gz"]
    klines = DATA / "binance-usdm-klines" / "BTCUSDT-1m.csv"
    found: dict[str, Callable[[], Iterable[object]]] = {
        "synthetic_btc_eth_200k_events": lambda: itertools.islice(
            SyntheticSource([spec_for("BTCUSDT"), spec_for("ETHUSDT")], seed=1, start_ms=0), 200_000
        ),
    }
    if all(path.exists() for path in btc_2024):
        found["capture_btc_2024"] = lambda: CaptureReplay(btc_2024)
        found["capture_btc_2024_with_derived_marks"] = lambda: DerivedMarks(CaptureReplay(btc_2024))
    if all(path.exists() for path in btc_2024 + eth_2024):
        found["capture_btc_eth_2024"] = lambda: CaptureReplay(btc_2024 + eth_2024)
    if klines.exists():
        found["klines_btc_1m_7d"] = lambda: CsvReplay([klines])
    return found


def main() -> int:
    figures = {name: best_rate(make) for name, make in cases().items()}
    for name, figure in figures.items():
        print(f"{name:40s} {figure['events']:>9,d} events {figure['seconds']:>7.3f} s {figure['events_per_s']:>9,d}/s")
    if len(figures) == 1:
        print(f"recorded data absent from {DATA}: only the synthetic figure was measured")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"python": platform.python_version(), "figures": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
