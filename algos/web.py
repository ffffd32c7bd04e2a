"""Strategy-backtest results in the dashboard: the list (index.json) and each run's report with its charts.

Results are research, not a sub-account's books: every signed-in operator may read them. Files are served only
from a folder the index names, inside the results root, and only by their known names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from algos.strategies.backtest.results import DEFAULT_RESULTS, results_index

app_name = "backtests"
CHARTS = {"equity.png": "image/png", "equity.html": "text/html; charset=utf-8"}


def results_root() -> Path:
    configured = getattr(settings, "PMS_STRATEGY_BACKTESTS", None)
    return Path(configured) if configured else Path(settings.BASE_DIR) / DEFAULT_RESULTS


def _run(run_id: str) -> tuple[dict[str, Any], Path]:
    root = results_root().resolve()
    try:
        entries = results_index(root)
    except (OSError, ValueError) as exc:
        raise Http404(f"the backtest index cannot be read: {exc}") from None
    entry = next((item for item in entries if str(item.get("id")) == run_id), None)
    if entry is None:
        raise Http404(f"no backtest {run_id!r}")
    folder = Path(str(entry.get("folder", "")))
    folder = (folder if folder.is_absolute() else Path(settings.BASE_DIR) / folder).resolve()
    if root not in folder.parents and folder != root:
        raise Http404(f"backtest {run_id!r} is stored outside the results folder")
    return entry, folder


@login_required
def backtest_list(request: HttpRequest) -> HttpResponse:
    try:
        entries = list(reversed(results_index(results_root())))
        problem = ""
    except (OSError, ValueError) as exc:
        entries, problem = [], f"The backtest index cannot be read ({exc}); run a backtest to write a new one."
    return render(request, "algos/backtests.html", {"entries": entries, "problem": problem,
                                                    "root": results_root()})


@login_required
def backtest_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    entry, folder = _run(run_id)
    try:
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Http404(f"backtest {run_id!r} has no readable report: {exc}") from None
    figures = {key: value for key, value in report.items() if not isinstance(value, dict | list)}
    return render(request, "algos/backtest.html", {
        "entry": entry, "figures": figures, "breakers": report.get("breakers", []),
        "has_png": (folder / "equity.png").exists(), "has_html": (folder / "equity.html").exists()})


@login_required
def backtest_chart(request: HttpRequest, run_id: str, name: str) -> FileResponse:
    if name not in CHARTS:
        raise Http404(f"no chart {name!r}")
    _, folder = _run(run_id)
    path_ = folder / name
    if not path_.exists():
        raise Http404(f"backtest {run_id!r} has no {name}")
    return FileResponse(path_.open("rb"), content_type=CHARTS[name])


urlpatterns = [
    path("backtests/", backtest_list, name="list"),
    path("backtests/<str:run_id>/", backtest_detail, name="detail"),
    path("backtests/<str:run_id>/<str:name>", backtest_chart, name="chart"),
]
