"""API keys for integrations: only a hash is stored; each key has scopes and an expiry."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class Scope(models.TextChoices):
    READ = "read", "read: sub-accounts, positions, orders, fills, ledger, algos, risk, engine status"
    TRADE = "trade", "trade: place and cancel orders"
    ALGOS = "algos", "algos: start, stop, pause and resume algos"
    RISK = "risk", "risk: limits, breakers, kill switch"
    ENGINE = "engine", "engine: engine control"


class ApiKey(models.Model):
    """A key acts as its user, limited to its scopes and to the sub-accounts granted to that user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=64, help_text="what the key is for, e.g. 'hedging bot'")
    prefix = models.CharField(max_length=12, unique=True, help_text="the key's public part, shown to identify it")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the whole key; the key itself is never stored")
    scopes = ArrayField(models.CharField(max_length=16, choices=Scope.choices))
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
