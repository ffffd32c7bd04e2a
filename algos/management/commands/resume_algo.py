"""Resume a running algo through the engine (its state is kept; see algos.services.algo_resume)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from algos.services import algo_resume
from core.errors import AppError
from trading.management.commands.place_order import wait_for


class Command(BaseCommand):
    help = "Resume an algo run by id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", type=int, required=True, help="algo run id")
        parser.add_argument("--timeout", type=float, default=15.0)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            command = algo_resume(algo_run_id=options["id"], actor="cli:resume_algo")
        except AppError as exc:
            raise CommandError(exc.user_message) from None
        done = wait_for(command.pk, options["timeout"])
        if done.status == "failed":
            raise CommandError(f"not done: {done.error}")
        self.stdout.write(self.style.SUCCESS(f"algo run {options['id']} {done.result.get('status')}"))
