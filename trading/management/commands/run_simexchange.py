"""`manage.py run_simexchange`: the simulated exchange, with the same arguments as `python -m simexchange`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from simexchange.__main__ import main


class Command(BaseCommand):
    help = "Run the simulated Binance USD-M exchange on 127.0.0.1 (see python -m simexchange --help)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("args", nargs="*", help="arguments for simexchange, after --")

    def handle(self, *args: Any, **options: Any) -> None:
        code = main(list(args))
        if code:
            raise CommandError(f"simexchange exited with {code}")
