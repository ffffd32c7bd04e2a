"""Scalper and TWAP-basket launchers (forms and API) and the market page's chart of a sub-account's fills."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from trading.models import AlgoRun, EngineCommand, Fill

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def ann(desk) -> Client:
    client = Client()
    client.force_login(desk["ann"])
    return client


SCALPER = {"symbol": "BTCUSDT", "quantity": "0.003", "sides": "both", "layer_count": "3", "base_offset": "5",
           "max_spread": "50", "skew": "0", "max_position": "0", "max_fills_per_minute": "30", "max_loss_bps": "50"}


def test_the_scalper_form_starts_a_scalper_run(desk, ann):
    html = ann.post(f"/accounts/{desk['alpha'].pk}/algos/scalper/", SCALPER).content.decode()
    run = AlgoRun.objects.get()
    assert f'data-started="{run.pk}"' in html and run.kind == "scalper"
    assert run.parameters["layer_count"] == 3 and EngineCommand.objects.get().kind == "start_algo"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"max_spread": "2"}, "max_spread", "must be at least the base offset (5 bps)"),
    ({"skew": "3"}, "skew", "less than or equal to 1"),
    ({"quantity": "0.0005"}, "form", "quantity"),
    ({"layer_count": "0"}, "layer_count", "greater than or equal to 1"),
])
def test_a_bad_scalper_says_what_to_change_and_starts_nothing(desk, ann, changes, field, message):
    html = ann.post(f"/accounts/{desk['alpha'].pk}/algos/scalper/", {**SCALPER, **changes}).content.decode()
    assert f'data-error="{field}"' in html and message in html
    assert not AlgoRun.objects.exists() and not EngineCommand.objects.exists()


def test_a_basket_starts_one_run_with_every_leg_under_its_label(desk, ann):
    html = ann.post(f"/accounts/{desk['alpha'].pk}/algos/twap_basket/", {
        "label": "rebalance-1", "lots": "5", "interval_s": "30",
        "leg1_symbol": "BTCUSDT", "leg1_side": "buy", "leg1_quantity": "0.01",
        "leg2_symbol": "ETHUSDT", "leg2_side": "sell", "leg2_quantity": "0.5"}).content.decode()
    (run,) = AlgoRun.objects.all()  # one basket: both legs on one schedule, one combined progress
    assert (run.kind, run.parameters["basket"]) == ("basket", "rebalance-1")
    assert [(leg["symbol"], leg["side"], leg["quantity"]) for leg in run.parameters["legs"]] == [
        ("BTCUSDT", "buy", "0.01"), ("ETHUSDT", "sell", "0.5")]
    assert "basket rebalance-1" in html and EngineCommand.objects.count() == 1


def test_a_basket_with_one_bad_leg_starts_no_leg_and_names_the_leg(desk, ann):
    html = ann.post(f"/accounts/{desk['alpha'].pk}/algos/twap_basket/", {
        "label": "b", "lots": "5", "interval_s": "30",
        "leg1_symbol": "BTCUSDT", "leg1_side": "buy", "leg1_quantity": "0.01",
        "leg2_symbol": "ETHUSDT", "leg2_side": "sell", "leg2_quantity": "0.0005"}).content.decode()
    assert 'data-error="form"' in html and "leg 2 (ETHUSDT):" in html
    assert not AlgoRun.objects.exists() and not EngineCommand.objects.exists()
    empty = ann.post(f"/accounts/{desk['alpha'].pk}/algos/twap_basket/", {"label": "b", "lots": "5",
                                                                            "interval_s": "30"}).content.decode()
    assert "a basket needs at least one leg" in empty
    half = ann.post(f"/accounts/{desk['alpha'].pk}/algos/twap_basket/", {
        "label": "b", "lots": "5", "interval_s": "30", "leg1_quantity": "1"}).content.decode()
    assert 'data-error="leg1_symbol"' in half and not AlgoRun.objects.exists()


def test_the_api_starts_a_scalper_and_a_basket_and_refuses_bad_ones_with_nothing_started(desk, client_for):
    client = client_for(desk["ann"])
    scalper = client.post("/api/v1/algos/scalper/", {**SCALPER, "sub_account": desk["alpha"].pk}, format="json")
    assert scalper.status_code == 202 and scalper.json()["kind"] == "scalper"
    basket = client.post("/api/v1/algos/twap_basket/", {
        "sub_account": desk["alpha"].pk, "label": "hedge", "lots": 4, "interval_s": 10,
        "legs": [{"symbol": "BTCUSDT", "side": "buy", "quantity": "0.01"},
                 {"symbol": "ETHUSDT", "side": "buy", "quantity": "0.1"}]}, format="json")
    assert basket.status_code == 202 and [(r["kind"], r["parameters"]["basket"]) for r in basket.json()] == [
        ("basket", "hedge")]
    before = AlgoRun.objects.count()

    bad_spread = client.post("/api/v1/algos/scalper/", {**SCALPER, "sub_account": desk["alpha"].pk,
                                                        "max_spread": "1"}, format="json")
    assert bad_spread.status_code == 400 and bad_spread.json()["message"].startswith("max_spread: must be at least")
    bad_leg = client.post("/api/v1/algos/twap_basket/", {
        "sub_account": desk["alpha"].pk, "label": "x", "legs": [
            {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.01"},
            {"symbol": "NOPEUSDT", "side": "buy", "quantity": "1"}]}, format="json")
    assert bad_leg.status_code == 400 and "leg 2 (NOPEUSDT): unknown symbol" in bad_leg.json()["message"]
    no_legs = client.post("/api/v1/algos/twap_basket/", {"sub_account": desk["alpha"].pk, "label": "x",
                                                         "legs": []}, format="json")
    assert no_legs.status_code == 400 and no_legs.json()["message"].startswith("legs:")
    foreign = client.post("/api/v1/algos/twap_basket/", {"sub_account": desk["beta"].pk, "label": "x", "legs": [
        {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.01"}]}, format="json")
    assert foreign.status_code == 404
    assert AlgoRun.objects.count() == before


def test_the_market_chart_plots_the_chosen_sub_accounts_fills_only(desk, ann):
    now = timezone.now()
    for n, (sub, side, price) in enumerate([("alpha", "buy", "60000"), ("alpha", "sell", "60100"),
                                           ("beta", "buy", "59000")]):
        Fill.objects.create(trade_key=f"T{n}", client_order_id=f"c{n}", sub_account=desk[sub], symbol="BTCUSDT",
                            side=side, price=D(price), quantity=D("0.01"), fee=D("0"), fee_asset="USDT",
                            realized_pnl=D("0"), executed_at=now, booked_at=now)
    html = ann.get(f"/market/?sub_account={desk['alpha'].pk}&symbol=BTCUSDT").content.decode()
    assert html.count("data-fill") == 2 and 'class="fill-buy"' in html and 'class="fill-sell"' in html
    assert "buy 0.01 @ 60000" in html and "@ 59000" not in html
    assert f'ws-connect="/ws/market/?sub_account={desk["alpha"].pk}&amp;symbol=BTCUSDT"' in html
    assert ann.get(f"/market/?sub_account={desk['beta'].pk}").status_code == 404
    assert ann.get("/market/?sub_account=abc").status_code == 404


def test_the_market_chart_draws_the_feeds_price_history_with_the_fills_inside_it(desk, ann):
    import redis
    from django.conf import settings

    from trading.marketdata.redis_bus import Keys

    now = timezone.now()
    now_ms = int(now.timestamp() * 1000)
    key = Keys().history("BTCUSDT")
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(key)
    client.rpush(key, *[f"{now_ms - 600_000 + i * 500}:{60000 + (i % 40)}.5" for i in range(1200)])
    try:
        for n, minutes_ago in enumerate((5, 30)):  # the second is older than the history: off the chart
            executed = now - timedelta(minutes=minutes_ago)
            Fill.objects.create(trade_key=f"H{n}", client_order_id=f"h{n}", sub_account=desk["alpha"], symbol="BTCUSDT",
                                side="buy", price=D("60010"), quantity=D("0.01"), fee=D("0"), fee_asset="USDT",
                                realized_pnl=D("0"), executed_at=executed, booked_at=executed)
        html = ann.get(f"/market/?sub_account={desk['alpha'].pk}&symbol=BTCUSDT").content.decode()
    finally:
        client.delete(key)

    line = html.split('class="price-line" points="')[1].split('"')[0].split()
    assert 300 <= len(line) <= 401  # 1,200 points thinned for the page
    assert html.count("data-fill") == 1 and "price over the last 10 min" in html
