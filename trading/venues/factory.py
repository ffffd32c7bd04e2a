"""Build the venue and its shared request budget from Django settings (the only venues module that reads them)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.clock import SYSTEM_CLOCK, Clock
from trading.venues.budget import RequestBudget, budget_redis
from trading.venues.ccxt_client import VenueConfig
from trading.venues.ccxt_venue import CcxtVenue


def venue_config_from_settings() -> VenueConfig:
    """PMS_VENUE "simulated" → PMS_SIMEXCHANGE_URL; "binance" → the real hosts. Keys from the environment."""
    if settings.PMS_VENUE == "simulated":
        base_url: str | None = settings.PMS_SIMEXCHANGE_URL
    elif settings.PMS_VENUE == "binance":
        base_url = None
        if not settings.PMS_EXCHANGE_API_KEY or not settings.PMS_EXCHANGE_API_SECRET:
            raise ImproperlyConfigured("PMS_VENUE=binance needs PMS_EXCHANGE_API_KEY and PMS_EXCHANGE_API_SECRET")
    else:
        raise ImproperlyConfigured(f"PMS_VENUE must be simulated or binance, got {settings.PMS_VENUE!r}")
    return VenueConfig(account=settings.PMS_EXCHANGE_ACCOUNT, api_key=settings.PMS_EXCHANGE_API_KEY,
                       secret=settings.PMS_EXCHANGE_API_SECRET, base_url=base_url)


def budget_from_settings(*, account: str | None = None, clock: Clock = SYSTEM_CLOCK) -> RequestBudget:
    """The account's budget on the shared Redis (REDIS_URL); per-process only when no Redis is configured."""
    redis_url = getattr(settings, "REDIS_URL", None)
    redis = budget_redis(redis_url) if redis_url else None
    return RequestBudget(account=account or settings.PMS_EXCHANGE_ACCOUNT, clock=clock, redis=redis,
                         owns_redis=redis is not None)


def venue_from_settings(*, clock: Clock = SYSTEM_CLOCK, budget: RequestBudget | None = None) -> CcxtVenue:
    """The process's venue. Close it on shutdown (it also closes the budget it created)."""
    config = venue_config_from_settings()
    owns_budget = budget is None
    if budget is None:
        budget = budget_from_settings(account=config.account, clock=clock)
    return CcxtVenue(config, clock=clock, budget=budget, owns_budget=owns_budget)
