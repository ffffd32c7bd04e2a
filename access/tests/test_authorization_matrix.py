"""The authorization matrix: 2 operators x 3 sub-accounts x every endpoint, page and websocket group.

ann operates alpha and gamma, bob beta and gamma. Inside the grants every read answers and every write is
accepted or refused on its merits; outside them everything answers 404 (sockets close 4404) and nothing changes.
Each call is made with the operator's session and again with an API key holding every scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from channels.routing import get_default_application
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from risk.models import RiskLimit, TradingStateRecord
from trading.models import AlgoRun, AuditLog, EngineCommand, Order

D = Decimal
GRANTS = {"ann": {"alpha", "gamma"}, "bob": {"beta", "gamma"}}
EVERY_SCOPE = ["read", "trade", "algos", "risk", "engine"]


@pytest.fixture
def world(desk: dict[str, Any]) -> dict[str, Any]:
    """In each sub-account: a working order, a running algo and a command about it."""
    now = timezone.now()
    for name in ("alpha", "beta", "gamma"):
        sub = desk[name]
        run = AlgoRun.objects.create(kind="chase", sub_account=sub, status="running", started_at=now,
                                     parameters={"symbol": "BTCUSDT", "side": "buy", "quantity": "0.01"})
        Order.objects.create(client_order_id=f"PMS{sub.code}_LMT_{name}", sub_account=sub, symbol="BTCUSDT",
                             side="buy", order_type="limit", price=D("50000"), quantity=D("0.01"), status="new",
                             origin="LMT", created_at=now, updated_at=now)
        command = EngineCommand.objects.create(id=uuid.uuid4(), kind="start_algo", payload={"algo_run_id": run.pk},
                                               actor_label="test", created_at=now)
        desk[f"{name}_run"], desk[f"{name}_order"], desk[f"{name}_command"] = run, f"PMS{sub.code}_LMT_{name}", command
    return desk


def reads(w: dict[str, Any], name: str) -> list[str]:
    sub, run = w[name].pk, w[f"{name}_run"].pk
    return [f"/api/v1/sub-accounts/{sub}/", f"/api/v1/sub-accounts/{sub}/positions/",
            f"/api/v1/sub-accounts/{sub}/orders/", f"/api/v1/sub-accounts/{sub}/fills/",
            f"/api/v1/sub-accounts/{sub}/ledger/", f"/api/v1/algos/{run}/",
            f"/api/v1/commands/{w[f'{name}_command'].pk}/", f"/api/v1/risk/limits/{sub}/"]


def writes(w: dict[str, Any], name: str) -> list[tuple[str, str, dict[str, Any]]]:
    sub, run = w[name].pk, w[f"{name}_run"].pk
    leg = {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.01"}
    return [
        ("post", "/api/v1/orders/", {"sub_account": sub, **leg, "price": "50000"}),
        ("post", f"/api/v1/orders/{w[f'{name}_order']}/cancel/", {}),
        ("post", "/api/v1/algos/chase/", {"sub_account": sub, **leg}),
        ("post", "/api/v1/algos/scalper/", {"sub_account": sub, "symbol": "BTCUSDT", "quantity": "0.003"}),
        ("post", "/api/v1/algos/twap/", {"sub_account": sub, **leg, "lots": 2}),
        ("post", "/api/v1/algos/trail_stop/", {"sub_account": sub, "symbol": "BTCUSDT", "trail_pct": "1"}),
        ("post", "/api/v1/algos/twap_basket/", {"sub_account": sub, "label": "b", "legs": [leg]}),
        *[("post", f"/api/v1/algos/{run}/{action}/", {}) for action in ("pause", "resume", "stop")],
        ("put", f"/api/v1/risk/limits/{sub}/", {"max_total_notional": "100000"}),
        ("patch", f"/api/v1/risk/limits/{sub}/", {"max_total_notional": "100000"}),
        ("post", "/api/v1/risk/breakers/trip/", {"scope": "sub_account", "key": sub, "reason": "matrix"}),
        ("post", "/api/v1/risk/breakers/reset/", {"scope": "sub_account", "key": sub, "reason": "matrix"}),
        ("post", "/api/v1/risk/breakers/trip/", {"scope": "algo", "key": run, "reason": "matrix"}),
    ]


def pages(w: dict[str, Any], name: str) -> list[tuple[str, str, dict[str, Any]]]:
    sub, run = w[name].pk, w[f"{name}_run"].pk
    return [("get", f"/accounts/{sub}/", {}), ("get", f"/accounts/{sub}/algos/chase/", {}),
            ("get", f"/risk/limits/{sub}/", {}), ("get", f"/market/?sub_account={sub}", {}),
            ("post", f"/accounts/{sub}/algos/chase/", {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.01",
                                                      "stalk_mode": "maintain", "offset_ticks": "0",
                                                      "max_distance_pct": "2"}),
            ("post", f"/algos/{run}/stop/", {}), ("post", f"/orders/{w[f'{name}_order']}/cancel/", {}),
            ("post", f"/risk/limits/{sub}/", {"max_total_notional": "5"}),
            ("post", "/risk/breakers/trip/", {"scope": "sub_account", "key": sub, "reason": "m", "state": "halted"})]


def state(w: dict[str, Any], name: str) -> tuple[Any, ...]:
    """Everything a write to this sub-account could change."""
    sub = w[name]
    runs = AlgoRun.objects.filter(sub_account=sub)
    return (EngineCommand.objects.count(), runs.count(), list(runs.values_list("status", flat=True)),
            RiskLimit.objects.filter(sub_account=sub).exists(),
            TradingStateRecord.objects.filter(scope_kind="sub_account", scope_key=sub.pk).exists(),
            TradingStateRecord.objects.filter(scope_kind="algo", scope_key=w[f"{name}_run"].pk).exists(),
            AuditLog.objects.count())


def clients(w: dict[str, Any], user: str, key_client: Callable[..., APIClient]) -> list[tuple[str, Any]]:
    session = APIClient()
    session.force_login(w[user])
    return [("session", session), ("api key", key_client(w[user], EVERY_SCOPE))]


@pytest.mark.parametrize("user", ["ann", "bob"])
@pytest.mark.parametrize("name", ["alpha", "beta", "gamma"])
def test_every_endpoint_answers_inside_the_grants_and_404_outside_changing_nothing(world, key_client, user, name):
    granted = name in GRANTS[user]
    for label, client in clients(world, user, key_client):
        for url in reads(world, name):
            status = client.get(url).status_code
            assert status == (200 if granted else 404), (label, url, status)
        for method, url, body in writes(world, name):
            before = state(world, name)
            status = getattr(client, method)(url, body, format="json").status_code
            if granted:
                assert status not in (401, 403, 404, 500), (label, method, url, status)
            else:
                assert status == 404, (label, method, url, status)
                assert state(world, name) == before, (label, method, url)


@pytest.mark.parametrize("user", ["ann", "bob"])
@pytest.mark.parametrize("name", ["alpha", "beta", "gamma"])
def test_every_page_answers_inside_the_grants_and_404_outside_changing_nothing(world, user, name):
    client = Client()
    client.force_login(world[user])
    granted = name in GRANTS[user]
    for method, url, body in pages(world, name):
        before = state(world, name)
        status = getattr(client, method)(url, body).status_code
        if granted:
            assert status == 200, (method, url, status)
        else:
            assert status == 404, (method, url, status)
            assert state(world, name) == before, (method, url)


@pytest.mark.parametrize("user", ["ann", "bob"])
def test_lists_show_exactly_the_granted_sub_accounts(world, key_client, user):
    names = GRANTS[user]
    ids = {world[n].pk for n in names}
    for _, client in clients(world, user, key_client):
        assert {row["name"] for row in client.get("/api/v1/sub-accounts/").json()} == names
        assert {row["name"] for row in client.get("/api/v1/risk/").json()["sub_accounts"]} == names
        assert {row["sub_account"] for row in client.get("/api/v1/algos/").json()["results"]} == ids
        foreign = next(world[n].pk for n in ("alpha", "beta") if n not in names)
        assert client.get(f"/api/v1/algos/?sub_account={foreign}").json()["results"] == []
        breakers = client.get("/api/v1/risk/breakers/").json()
        assert all(row["scope"] == "global" or row["key"] in ids for row in breakers)
    session = Client()
    session.force_login(world[user])
    for url in ("/", "/risk/"):
        html = session.get(url).content.decode()
        for n in ("alpha", "beta", "gamma"):
            assert (f'"{n}"' in html) == (n in names), (url, n)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("user", ["ann", "bob"])
async def test_every_websocket_group_opens_inside_the_grants_and_closes_4404_outside(world, user):
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(_session_cookie)(world[user])
    for name in ("alpha", "beta", "gamma"):
        granted = name in GRANTS[user]
        for path in (f"/ws/account/{world[name].pk}/", f"/ws/market/?sub_account={world[name].pk}"):
            communicator = WebsocketCommunicator(get_default_application(), path, headers=[
                (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie.encode())])
            connected, code = await communicator.connect(timeout=10)
            try:
                assert connected == granted and (granted or code == 4404), (path, connected, code)
                if granted:
                    await communicator.receive_from(timeout=10)  # the snapshot
            finally:
                await communicator.disconnect()
    for path, marker in (("/ws/desk/", "data-sub-account"), ("/ws/risk/", "data-risk-sub")):
        communicator = WebsocketCommunicator(get_default_application(), path, headers=[
            (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie.encode())])
        connected, _ = await communicator.connect(timeout=10)
        try:
            assert connected
            snapshot = await communicator.receive_from(timeout=10)
            for name in ("alpha", "beta", "gamma"):
                assert (f'{marker}="{name}"' in snapshot) == (name in GRANTS[user]), (path, name)
        finally:
            await communicator.disconnect()


def _session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"
