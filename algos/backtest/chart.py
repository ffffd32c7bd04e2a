"""The backtest chart: price with the fills marked, as a PNG (matplotlib, Agg) and a self-contained HTML page."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAX_POINTS = 4000  # the price line is reduced to at most this many points (min and max of each bucket)
WIDTH, HEIGHT, PAD = 1000, 420, 56
COLOURS = {"buy": "#1a9850", "sell": "#d73027"}


@dataclass(frozen=True, slots=True)
class ChartData:
    title: str
    times_ms: Sequence[int]
    mids: Sequence[float]  # floats: plotting only
    fills: Sequence[dict[str, Any]]  # time, side, price, quantity


def reduce_series(times: Sequence[int], values: Sequence[float],
                  limit: int = MAX_POINTS) -> tuple[list[int], list[float]]:
    """Keep each bucket's extremes, so spikes survive the reduction."""
    if len(times) <= limit:
        return list(times), list(values)
    bucket = -(-len(times) // (limit // 2))
    out_t, out_v = [], []
    for start in range(0, len(times), bucket):
        chunk = range(start, min(start + bucket, len(times)))
        low = min(chunk, key=values.__getitem__)
        high = max(chunk, key=values.__getitem__)
        for index in sorted({low, high}):
            out_t.append(times[index])
            out_v.append(values[index])
    return out_t, out_v


def png_write(data: ChartData, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates, pyplot

    times, mids = reduce_series(data.times_ms, data.mids)
    figure, axes = pyplot.subplots(figsize=(11, 4.6), dpi=100)
    try:
        axes.plot(dates.date2num([_dt(t) for t in times]), mids, color="#4a6fa5", linewidth=0.8, label="mid")
        for side, marker in (("buy", "^"), ("sell", "v")):
            mine = [fill for fill in data.fills if fill["side"] == side]
            if mine:
                axes.scatter(dates.date2num([_dt(fill["time"]) for fill in mine]),
                             [float(fill["price"]) for fill in mine], marker=marker, color=COLOURS[side], s=46,
                             zorder=3, label=f"{side} fill")
        axes.set_title(data.title)
        axes.set_ylabel("price")
        axes.grid(alpha=0.3)
        axes.legend(loc="best")
        axes.xaxis.set_major_formatter(dates.DateFormatter("%H:%M:%S"))
        figure.autofmt_xdate()
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        pyplot.close(figure)


def html_write(data: ChartData, path: Path) -> None:
    path.write_text(html_page(data), encoding="utf-8")


def html_page(data: ChartData) -> str:
    """One file, no script and no network: the chart is inline SVG, each fill has a hover title."""
    times, mids = reduce_series(data.times_ms, data.mids)
    fill_prices = [float(fill["price"]) for fill in data.fills]
    all_times = list(times) + [int(fill["time"]) for fill in data.fills]
    all_prices = list(mids) + fill_prices
    if not all_times:
        body = "<p>No prices were replayed.</p>"
    else:
        body = _svg(times, mids, data.fills, (min(all_times), max(all_times)), (min(all_prices), max(all_prices)))
    rows = "".join(
        f"<tr><td>{html.escape(_dt(int(f['time'])).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3])}</td>"
        f"<td class='{html.escape(str(f['side']))}'>{html.escape(str(f['side']))}</td>"
        f"<td>{html.escape(str(f['price']))}</td><td>{html.escape(str(f['quantity']))}</td></tr>"
        for f in data.fills)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(data.title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
        "table{border-collapse:collapse;margin-top:16px}td,th{padding:2px 10px;border-bottom:1px solid #ddd}"
        ".buy{color:#1a9850}.sell{color:#d73027}svg{background:#fff;border:1px solid #ccc}"
        "</style></head><body>"
        f"<h1>{html.escape(data.title)}</h1>{body}"
        f"<table><tr><th>time (UTC)</th><th>side</th><th>price</th><th>quantity</th></tr>{rows}</table>"
        "</body></html>"
    )


def _svg(times: Sequence[int], mids: Sequence[float], fills: Sequence[dict[str, Any]], t_range: tuple[int, int],
         p_range: tuple[float, float]) -> str:
    t0, t1 = t_range
    p0, p1 = p_range
    if p1 == p0:
        p0, p1 = p0 - 1, p1 + 1
    span_t = max(t1 - t0, 1)

    def x(t: int) -> float:
        return PAD + (t - t0) / span_t * (WIDTH - 2 * PAD)

    def y(p: float) -> float:
        return HEIGHT - PAD - (p - p0) / (p1 - p0) * (HEIGHT - 2 * PAD)

    line = " ".join(f"{x(t):.1f},{y(p):.2f}" for t, p in zip(times, mids, strict=True))
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' "
             f"viewBox='0 0 {WIDTH} {HEIGHT}'>",
             f"<polyline fill='none' stroke='#4a6fa5' stroke-width='1' points='{line}'/>"]
    for value in (p0, (p0 + p1) / 2, p1):
        parts.append(f"<text x='4' y='{y(value) + 4:.1f}' font-size='11'>{value:.6g}</text>")
    for moment in (t0, t1):
        label = _dt(moment).strftime("%H:%M:%S")
        parts.append(f"<text x='{x(moment) - 24:.1f}' y='{HEIGHT - 20}' font-size='11'>{label}</text>")
    for fill in fills:
        cx, cy = x(int(fill["time"])), y(float(fill["price"]))
        colour = COLOURS.get(str(fill["side"]), "#333")
        points = (f"{cx},{cy - 7} {cx - 6},{cy + 5} {cx + 6},{cy + 5}" if fill["side"] == "buy"
                  else f"{cx},{cy + 7} {cx - 6},{cy - 5} {cx + 6},{cy - 5}")
        title = html.escape(f"{fill['side']} {fill['quantity']} @ {fill['price']}")
        parts.append(f"<polygon class='fill {html.escape(str(fill['side']))}' points='{points}' fill='{colour}'>"
                     f"<title>{title}</title></polygon>")
    parts.append("</svg>")
    return "".join(parts)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
