"""Backtest a strategy: `manage.py backtest_strategy --strategy ensemble --data PATH [--chaos flood@+3d/80]`.

Pure in memory: no database or Redis connection is opened. `manage.py backtest --strategy NAME` does the same.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from algos.strategies.backtest.cli import add_strategy_arguments, strategy_backtest_main
from algos.strategies.backtest.run import StrategyBacktestError


class Command(BaseCommand):
    help = ("Replay klines through a strategy, the OrderManager, the risk engine and the in-process matching core; "
            "print the report, save it with equity and drawdown charts, and index it")
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_strategy_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options.get("strategy"):
            raise CommandError("--strategy is required (e.g. --strategy ensemble)")
        try:
            strategy_backtest_main(options, stdout=self.stdout, stderr=self.stderr)
        except StrategyBacktestError as exc:
            raise CommandError(str(exc)) from None
