"""Start an algo for a sub-account through the engine command path; prints the run id."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from algos.domain.params import KINDS
from algos.services import algo_start
from core.errors import AppError
from trading.models import EngineCommand, SubAccount


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--param takes name=value, got {pair!r}")
        parsed[key] = value
    return parsed


class Command(BaseCommand):
    help = ("Start a chase, scalper, twap or trail_stop, "
            "e.g. --kind chase --sub alpha --symbol BTCUSDT --side buy --qty 0.01")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=KINDS)
        parser.add_argument("--sub", required=True, help="sub-account name")
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--side", choices=["buy", "sell"])
        parser.add_argument("--qty", help="quantity in the base asset")
        parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                            help="stalk_mode, offset_ticks, max_distance_pct, lots, interval_s, limit_price, "
                                 "layer_count, base_offset, max_spread, skew, max_loss_bps, "
                                 "trail_pct, activation_price …")
        parser.add_argument("--price", help="reference price for the minimum order value check")
        parser.add_argument("--timeout", type=float, default=15.0)

    def handle(self, *args: Any, **options: Any) -> None:
        sub_account = SubAccount.objects.filter(name=options["sub"]).first()
        if sub_account is None:
            raise CommandError(f"unknown sub-account {options['sub']!r}")
        params: dict[str, Any] = {"symbol": options["symbol"], **parse_pairs(options["param"])}
        if options["side"]:
            params["side"] = options["side"]
        if options["qty"]:
            params["quantity"] = options["qty"]
        reference = Decimal(options["price"]) if options["price"] else None
        try:
            run = algo_start(kind=options["kind"], sub_account_id=sub_account.pk, params=params,
                             actor="cli:start_algo", reference_price=reference)
        except AppError as exc:
            raise CommandError(exc.user_message) from None
        deadline = time.monotonic() + options["timeout"]
        while time.monotonic() < deadline:
            command = EngineCommand.objects.filter(kind="start_algo", payload__algo_run_id=run.pk).first()
            if command is not None and command.status in (EngineCommand.Status.DONE, EngineCommand.Status.FAILED):
                if command.status == EngineCommand.Status.FAILED:
                    raise CommandError(f"algo {run.pk} refused by the engine: {command.error}")
                run.refresh_from_db()
                self.stdout.write(self.style.SUCCESS(f"algo run {run.pk} ({run.kind}) {run.status}"))
                return
            time.sleep(0.05)
        raise CommandError(f"algo run {run.pk} is queued but the engine has not answered: is run_engine running?")


