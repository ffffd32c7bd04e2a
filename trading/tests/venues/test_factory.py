"""The venue built from Django settings: simulated exchange URL or the real hosts, keys, shared budget."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from trading.venues.base import Accepted
from trading.venues.factory import venue_config_from_settings, venue_from_settings

from .conftest import SIM_KEY, SIM_SECRET
from .helpers import limit

pytestmark = pytest.mark.timeout(30)


async def test_the_simulated_venue_trades_on_the_configured_url(settings: Any, sim: Any) -> None:
    settings.PMS_VENUE = "simulated"
    settings.PMS_SIMEXCHANGE_URL = sim.base_url
    settings.PMS_EXCHANGE_API_KEY, settings.PMS_EXCHANGE_API_SECRET = SIM_KEY, SIM_SECRET
    venue = venue_from_settings()
    try:
        outcome = await venue.place(limit("PMSfactory_LMT_1"))
        assert isinstance(outcome, Accepted)
        assert venue.budget.limits.request_weight_per_minute == 2400  # sized from exchangeInfo
        assert not venue.budget.degraded
    finally:
        await venue.close()


def test_binance_uses_the_real_hosts_and_needs_keys(settings: Any) -> None:
    settings.PMS_VENUE = "binance"
    settings.PMS_EXCHANGE_API_KEY, settings.PMS_EXCHANGE_API_SECRET = "", ""
    with pytest.raises(ImproperlyConfigured):
        venue_config_from_settings()

    settings.PMS_EXCHANGE_API_KEY, settings.PMS_EXCHANGE_API_SECRET = "key", "secret"
    config = venue_config_from_settings()

    assert config.base_url is None and config.api_key == "key"


async def test_the_binance_client_points_at_fapi_binance_com(settings: Any) -> None:
    settings.PMS_VENUE = "binance"
    settings.PMS_EXCHANGE_API_KEY, settings.PMS_EXCHANGE_API_SECRET = "key", "secret"
    venue = venue_from_settings()
    try:
        urls = venue._ex.urls["api"]
        assert urls["fapiPrivate"].startswith("https://fapi.binance.com/")
        assert urls["ws"]["linear"].startswith("wss://fstream.binance.com/")
    finally:
        await venue.close()
