"""Backtest an algo: `manage.py backtest --algo chase|scalper|twap|trail --data PATH|synthetic ...`.

Pure in memory: no database or Redis connection is opened (the settings only need their URLs).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from algos.backtest.cli import add_arguments, backtest_main
from algos.backtest.session import BacktestError
from algos.strategies.backtest.cli import add_strategy_arguments, strategy_backtest_main
from algos.strategies.backtest.run import StrategyBacktestError


class Command(BaseCommand):
    help = ("Replay recorded or synthetic prices through an algo, the OrderManager and the in-process matching core; "
            "print a report and save it with a chart, e.g. --algo chase --data synthetic --side buy --quantity 0.01")
    requires_system_checks: list[str] = []  # a backtest touches no model: skip checks that could reach a database

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)
        add_strategy_arguments(parser, shared=True)  # --strategy NAME: a strategy backtest instead of an algo
        parser._option_string_actions["--algo"].required = False  # one of --algo or --strategy, checked below

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("strategy"):
            try:
                strategy_backtest_main(options, stdout=self.stdout, stderr=self.stderr)
            except StrategyBacktestError as exc:
                raise CommandError(str(exc)) from None
            return
        if not options.get("algo"):
            raise CommandError("give --algo chase|scalper|twap|trail, or --strategy NAME for a strategy backtest")
        try:
            backtest_main(options, stdout=self.stdout, stderr=self.stderr)
        except BacktestError as exc:
            raise CommandError(str(exc)) from None
