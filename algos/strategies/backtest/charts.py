"""Equity and drawdown charts of a strategy backtest: a PNG (matplotlib, Agg) and a self-contained HTML page."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAX_POINTS = 3000
WIDTH, HEIGHT, PAD = 1000, 260, 56


def drawdown_curve(equity: Sequence[float]) -> list[float]:
    """Percent below the running peak (0 or negative)."""
    peak, curve = float("-inf"), []
    for value in equity:
        peak = max(peak, value)
        curve.append(-(peak - value) / peak * 100 if peak > 0 else 0.0)
    return curve


def _thin(times: Sequence[int], values: Sequence[float]) -> tuple[list[int], list[float]]:
    if len(times) <= MAX_POINTS:
        return list(times), list(values)
    step = -(-len(times) // MAX_POINTS)
    return [*times[::step], times[-1]], [*values[::step], values[-1]]


def png_write(path: Path, *, title: str, times_ms: Sequence[int], equity: Sequence[float],
              breakers: Sequence[dict[str, Any]] = ()) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    moments = [datetime.fromtimestamp(ms / 1000, tz=UTC) for ms in times_ms]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, height_ratios=[2, 1])
    top.plot(moments, equity, color="#2166ac", linewidth=1)
    top.set_ylabel("equity (USDT)")
    top.set_title(title, fontsize=10)
    for row in breakers:
        top.axvline(datetime.fromtimestamp(row["time_ms"] / 1000, tz=UTC), color="#d73027", linestyle="--",
                    linewidth=1)
    bottom.fill_between(moments, drawdown_curve(equity), 0, color="#d73027", alpha=0.4)
    bottom.set_ylabel("drawdown (%)")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _polyline(times: Sequence[int], values: Sequence[float], top: int, height: int, colour: str) -> str:
    if not times:
        return ""
    t0, t1 = times[0], max(times[-1], times[0] + 1)
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    points = " ".join(f"{PAD + (t - t0) / (t1 - t0) * (WIDTH - 2 * PAD):.1f},"
                      f"{top + height - (v - low) / span * height:.1f}" for t, v in zip(times, values, strict=True))
    labels = (f'<text x="4" y="{top + 10}" font-size="11">{high:,.2f}</text>'
              f'<text x="4" y="{top + height}" font-size="11">{low:,.2f}</text>')
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{points}"/>{labels}'


def html_write(path: Path, *, title: str, times_ms: Sequence[int], equity: Sequence[float],
               report_text: str, breakers: Sequence[dict[str, Any]] = ()) -> None:
    """One file, no script or network: two inline SVG charts and the text report."""
    times, values = _thin(times_ms, equity)
    drawdown = drawdown_curve(values)
    height = HEIGHT
    marks = ""
    if times:
        t0, t1 = times[0], max(times[-1], times[0] + 1)
        marks = "".join(
            f'<line x1="{PAD + (row["time_ms"] - t0) / (t1 - t0) * (WIDTH - 2 * PAD):.1f}" y1="10" '
            f'x2="{PAD + (row["time_ms"] - t0) / (t1 - t0) * (WIDTH - 2 * PAD):.1f}" y2="{2 * height + 30}" '
            f'stroke="#d73027" stroke-dasharray="4 3"><title>{html.escape(row["reason"])}</title></line>'
            for row in breakers)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{2 * height + 40}">'
           f'<text x="{PAD}" y="12" font-size="12">equity (USDT)</text>'
           f'{_polyline(times, values, 20, height - 20, "#2166ac")}'
           f'<text x="{PAD}" y="{height + 22}" font-size="12">drawdown (%)</text>'
           f'{_polyline(times, drawdown, height + 30, height - 20, "#d73027")}{marks}</svg>')
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body style='font-family:sans-serif'><h1 style='font-size:16px'>{html.escape(title)}</h1>{svg}"
            f"<pre>{html.escape(report_text)}</pre></body></html>")
    path.write_text(page, encoding="utf-8")
