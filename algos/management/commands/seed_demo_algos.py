"""Give the demo desk something to watch: a scalper on each of two sub-accounts, queued for the engine.

Run after `seed_demo` by `make run`. Idempotent: a sub-account that already has a live algo (pending, running or
paused) gets nothing new, so restarts do not pile algos up. The engine sizes the layers at its own price when it
starts them (the feed may not have written a price yet when this runs).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from algos.services import algo_start
from core.errors import AppError
from trading.models import AlgoRun, SubAccount

DEMO_ALGOS = [
    ("alpha", "scalper", {"symbol": "BTCUSDT", "quantity": "0.006", "layer_count": 3, "base_offset": "2",
                          "max_spread": "20", "max_position": "0.012", "base_delay_ms": 2000}),
    ("beta", "scalper", {"symbol": "ETHUSDT", "quantity": "0.090", "layer_count": 3, "base_offset": "3",
                         "max_spread": "30", "max_position": "0.180", "base_delay_ms": 2000}),
]
LIVE = (AlgoRun.Status.PENDING, AlgoRun.Status.RUNNING, AlgoRun.Status.PAUSED)


class Command(BaseCommand):
    help = "Queue the demo desk's algos (a scalper on alpha and on beta) unless they already run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--none", action="store_true", help="queue nothing (a quiet demo desk)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["none"]:
            return
        for name, kind, params in DEMO_ALGOS:
            sub_account = SubAccount.objects.filter(name=name).first()
            if sub_account is None:
                self.stdout.write(f"no sub-account {name!r}: run seed_demo first")
                continue
            if AlgoRun.objects.filter(sub_account=sub_account, status__in=LIVE).exists():
                continue
            try:
                run = algo_start(kind=kind, sub_account_id=sub_account.pk, params=params, actor="seed_demo")
            except AppError as exc:
                self.stdout.write(f"demo {kind} for {name} not started: {exc.user_message}")
                continue
            self.stdout.write(f"demo {kind} #{run.pk} queued for {name} on {params['symbol']}")
