"""Strategy-backtest results in the dashboard: listed from index.json, each report with its charts, nothing
served from outside the results folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from algos.strategies.backtest.results import result_store

REPORT = {"strategy": "ensemble", "symbols": ["BTCUSDT"], "timeframe": "5m", "status": "completed",
          "total_pnl": "-391.20", "return_pct": "-3.91", "sharpe": "-1.2", "max_drawdown_pct": "5.1", "trades": 348,
          "win_rate_pct": "46.0", "profit_factor": "0.42", "seed": 7,
          "breakers": ["algo 1 -> halted (order_rate): 61 orders in a minute breach the limit of 60"]}


@pytest.fixture
def operator(db: None) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user("ops", password="x"))
    return client


@pytest.fixture
def results(tmp_path: Path, settings) -> Path:
    settings.PMS_STRATEGY_BACKTESTS = str(tmp_path)
    folder = tmp_path / "run-1"
    result_store(REPORT, folder=folder, root=tmp_path, run_id="run-1")
    (folder / "equity.png").write_bytes(b"\x89PNG\r\n\x1a\nchart")
    return tmp_path


def test_the_list_shows_every_run_with_its_headline_and_the_report_page_its_figures_and_breakers(operator,
                                                                                                  results):
    listing = operator.get("/backtests/").content.decode()
    assert 'data-backtest="run-1"' in listing and "ensemble" in listing and "-391.20" in listing
    page = operator.get("/backtests/run-1/").content.decode()
    assert "profit_factor" in page and "0.42" in page and "61 orders in a minute" in page
    chart = operator.get("/backtests/run-1/equity.png")
    assert chart.status_code == 200 and chart["Content-Type"] == "image/png"
    assert b"".join(chart.streaming_content).startswith(b"\x89PNG")


def test_unknown_runs_files_and_folders_outside_the_results_answer_404(operator, results, tmp_path):
    assert operator.get("/backtests/nope/").status_code == 404
    assert operator.get("/backtests/run-1/report.json").status_code == 404  # only the charts by name
    index = results / "index.json"
    entries = json.loads(index.read_text())
    entries.append({**entries[0], "id": "escape", "folder": str(tmp_path.parent)})
    index.write_text(json.dumps(entries))
    assert operator.get("/backtests/escape/").status_code == 404


def test_no_results_yet_says_how_to_make_one_and_signing_in_is_required(operator, settings, tmp_path, db):
    settings.PMS_STRATEGY_BACKTESTS = str(tmp_path / "empty")
    assert "No backtest yet" in operator.get("/backtests/").content.decode()
    assert Client().get("/backtests/").status_code == 302
