"""What stop_algo, pause_algo and resume_algo share: one algo run by id, one service, the engine's answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import AppError
from trading.management.commands.place_order import wait_for
from trading.models import EngineCommand


class AlgoActionCommand(BaseCommand):
    """action_command names the verb and the algos.services function that queues it."""

    verb = ""
    service: Callable[..., EngineCommand]  # algo_run_id, actor -> the queued engine command

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", type=int, required=True, help="algo run id")
        parser.add_argument("--timeout", type=float, default=15.0)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            command = self.service(algo_run_id=options["id"], actor=f"cli:{self.verb}_algo")
        except AppError as exc:
            raise CommandError(exc.user_message) from None
        done = wait_for(command.pk, options["timeout"])
        if done.status == "failed":
            raise CommandError(f"{self.verb} refused by the engine: {done.error}")
        self.stdout.write(self.style.SUCCESS(f"algo run {options['id']} {done.result.get('status')}"))


def action_command(verb: str, service: Callable[..., EngineCommand], help_text: str) -> type[AlgoActionCommand]:
    return type("Command", (AlgoActionCommand,), {"verb": verb, "help": help_text,
                                                  "service": staticmethod(service)})
