"""Seed the demo desk: instruments, an operator login, sub-accounts with balances. Idempotent."""

from __future__ import annotations

import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from trading.models import Instrument, LedgerEntry, SubAccount
from trading.services import subaccount_deposit

D = Decimal
# Binance USD-M filters for the demo symbols (the simulated exchange serves the same).
DEMO_INSTRUMENTS = [
    {"symbol": "BTCUSDT", "base_asset": "BTC", "tick_size": D("0.10"), "step_size": D("0.001"),
     "min_qty": D("0.001"), "max_qty": D("1000"), "min_notional": D("100"), "min_price": D("556.80"),
     "max_price": D("4529764")},
    {"symbol": "ETHUSDT", "base_asset": "ETH", "tick_size": D("0.01"), "step_size": D("0.001"),
     "min_qty": D("0.001"), "max_qty": D("10000"), "min_notional": D("20"), "min_price": D("39.86"),
     "max_price": D("306177")},
    {"symbol": "SOLUSDT", "base_asset": "SOL", "tick_size": D("0.0100"), "step_size": D("1"),
     "min_qty": D("1"), "max_qty": D("1000000"), "min_notional": D("5"), "min_price": D("0.4200"),
     "max_price": D("6857")},
]
DEMO_SUB_ACCOUNTS = [("alpha", D("100000")), ("beta", D("50000")), ("gamma", D("25000"))]
DEMO_USERNAME = "operator"


class Command(BaseCommand):
    help = "Create the demo desk (instruments, operator login, funded sub-accounts) if missing."

    def handle(self, *args: Any, **options: Any) -> None:
        port = os.environ.get("PMS_WEB_PORT", "8000")
        with transaction.atomic():
            for spec in DEMO_INSTRUMENTS:
                Instrument.objects.update_or_create(symbol=spec["symbol"], defaults=spec)
            password = self._operator_password()
            user = self._operator(password)
            for name, balance in DEMO_SUB_ACCOUNTS:
                sub_account, _ = SubAccount.objects.get_or_create(name=name)
                sub_account.operators.add(user)
                if not LedgerEntry.objects.filter(sub_account=sub_account, kind=LedgerEntry.Kind.DEPOSIT).exists():
                    subaccount_deposit(sub_account_id=sub_account.pk, amount=balance, actor="seed_demo",
                                       note="demo funding")
        self.stdout.write(self.style.SUCCESS(
            f"Demo desk ready. Log in at http://127.0.0.1:{port}/ as {DEMO_USERNAME} / {password} "
            f"(the dashboard; the admin is at /admin/)"))

    def _operator_password(self) -> str:
        # Kept beside the embedded data so the login printed on every start stays valid.
        path = Path(settings.PMS_STATE_DIR) / "demo-login"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            return path.read_text().strip()
        password = secrets.token_urlsafe(12)
        path.write_text(password)
        path.chmod(0o600)
        return password

    def _operator(self, password: str) -> Any:
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=DEMO_USERNAME, defaults={"is_staff": True,
                                                                                   "is_superuser": True})
        if not user.check_password(password):
            user.set_password(password)
            user.save()
        return user
