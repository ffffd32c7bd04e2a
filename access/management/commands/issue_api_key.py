"""Issue an API key for a user and print it once (only its hash is stored)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from access.models import Scope
from access.services import apikey_issue
from core.clock import SYSTEM_CLOCK
from core.errors import AppError


class Command(BaseCommand):
    help = "Issue a scoped, expiring API key for a user; the key is printed once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username the key acts as")
        parser.add_argument("--name", required=True, help="what the key is for")
        parser.add_argument("--scopes", default="read", help=f"comma-separated: {','.join(Scope.values)}")
        parser.add_argument("--days", type=int, default=90, help="days until the key expires")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        try:
            api_key, raw_key = apikey_issue(
                user=user, name=options["name"], scopes=[s.strip() for s in options["scopes"].split(",") if s.strip()],
                expires_at=SYSTEM_CLOCK.now() + timedelta(days=options["days"]), actor="cli:issue_api_key")
        except AppError as exc:
            raise CommandError(exc.user_message) from None
        self.stdout.write(f"{raw_key}\n")
        self.stderr.write(f"key {api_key.prefix} for {user.get_username()}, scopes {','.join(api_key.scopes)}, "
                          f"expires {api_key.expires_at:%Y-%m-%d}; it is not shown again")
