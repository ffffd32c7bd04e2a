"""Place an order through the whole path: a command row, the engine, the venue; prints the outcome."""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import AppError
from trading.models import EngineCommand
from trading.services.commands import command_submit


def wait_for(command_id: uuid.UUID, timeout_s: float) -> EngineCommand:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        command = EngineCommand.objects.get(pk=command_id)
        if command.status in (EngineCommand.Status.DONE, EngineCommand.Status.FAILED):
            return command
        time.sleep(0.05)
    raise CommandError(f"the engine did not answer command {command_id} within {timeout_s:.0f}s: is run_engine "
                       "running? The command stays queued and will run when it starts.")


class Command(BaseCommand):
    help = "Place an order for a sub-account (limit with --price, market without)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sub", required=True, help="sub-account name")
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--side", required=True, choices=["buy", "sell"])
        parser.add_argument("--qty", required=True, help="quantity in the base asset")
        parser.add_argument("--price", help="limit price; omit for a market order")
        parser.add_argument("--tif", choices=["GTC", "IOC", "FOK", "GTX"], help="time in force (limit only)")
        parser.add_argument("--reduce-only", action="store_true")
        parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for the engine")

    def handle(self, *args: Any, **options: Any) -> None:
        payload = {"sub_account": options["sub"], "symbol": options["symbol"], "side": options["side"],
                   "quantity": options["qty"], "price": options["price"], "time_in_force": options["tif"],
                   "reduce_only": options["reduce_only"]}
        try:
            command = command_submit(kind="place_order", payload=payload, actor="cli:place_order")
        except AppError as exc:
            raise CommandError(exc.user_message) from None
        done = wait_for(command.pk, options["timeout"])
        if done.status == EngineCommand.Status.FAILED:
            raise CommandError(f"order refused: {done.error}")
        result = done.result
        self.stdout.write(self.style.SUCCESS(
            f"order {result.get('client_order_id')} {result.get('status')}"
            + (f" (estimated fill {result['estimated_fill_price']})" if result.get("estimated_fill_price") else "")))
