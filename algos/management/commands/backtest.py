"""Backtest an algo: `manage.py backtest --algo chase|scalper|twap|trail --data PATH|synthetic ...`.

Pure in memory: no database or Redis connection is opened (the settings only need their URLs).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from algos.backtest.cli import add_arguments, backtest_main
from algos.backtest.session import BacktestError


class Command(BaseCommand):
    help = ("Replay recorded or synthetic prices through an algo, the OrderManager and the in-process matching core; "
            "print a report and save it with a chart, e.g. --algo chase --data synthetic --side buy --quantity 0.01")
    requires_system_checks: list[str] = []  # a backtest touches no model: skip checks that could reach a database

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            backtest_main(options, stdout=self.stdout, stderr=self.stderr)
        except BacktestError as exc:
            raise CommandError(str(exc)) from None
