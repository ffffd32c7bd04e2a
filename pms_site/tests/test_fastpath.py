"""The hot positions read: answered from the risk snapshot and the key cache exactly as the full stack would
answer it, and handed to the full stack whenever it cannot be sure (so a revoked key or a withdrawn grant
stops working on the very next request)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from channels.testing import HttpCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.core.asgi import get_asgi_application
from django.test import Client

from access.services import apikey_issue, apikey_revoke
from core.clock import SYSTEM_CLOCK
from pms_site.fastpath import FastReads
from risk.domain.margin import Bracket, PositionInput, account_margin
from risk.snapshots import snapshot_data, snapshot_encode, snapshot_key
from trading.models import SubAccount, VirtualPosition
from trading.tests.api.conftest import desk  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit runs: revocations bump the access generation
D = Decimal


@pytest.fixture
def alpha_book(desk):  # noqa: F811
    """alpha holds 0.01 BTC (entry 60000) and -0.5 ETH; the engine's snapshot of it sits in Redis."""
    alpha = desk["alpha"]
    now = SYSTEM_CLOCK.now()
    for symbol, quantity, entry, realized, fees in (("BTCUSDT", "0.01", "60000", "12.5", "0.31"),
                                                    ("ETHUSDT", "-0.5", "3000", "-4", "0.6")):
        VirtualPosition.objects.create(sub_account=alpha, symbol=symbol, quantity=D(quantity), average_entry=D(entry),
                                       realized_pnl=D(realized), fees=D(fees), updated_at=now)
    brackets = {s: (Bracket(D(0), D("1000000"), 50, D("0.004"), D(0)),) for s in ("BTCUSDT", "ETHUSDT")}
    margin = account_margin(wallet_balance=D("10000"), brackets=brackets, positions=[
        PositionInput("ETHUSDT", D("-0.5"), D("3000"), D("2990"), 20),
        PositionInput("BTCUSDT", D("0.01"), D("60000"), D("61250"), 20)])
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = snapshot_key(alpha.pk)
    client.set(key, snapshot_encode(snapshot_data(alpha.pk, margin, state="active", at_ms=SYSTEM_CLOCK.now_ms(),
                                                  booked={"BTCUSDT": (D("12.5"), D("0.31")),
                                                          "ETHUSDT": (D("-4"), D("0.6"))})), ex=30)
    yield alpha
    client.delete(key)


def key_for(user: User, scopes: list[str]) -> tuple[int, str]:
    api_key, raw = apikey_issue(user=user, name="bot", scopes=scopes, expires_at=SYSTEM_CLOCK.now() + timedelta(days=1),
                                actor="test")
    return api_key.pk, raw


class Counting:
    """The full stack behind the fast path, counting what reached it."""

    def __init__(self) -> None:
        self.app = get_asgi_application()
        self.calls = 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        await self.app(scope, receive, send)


async def get(app, path: str, raw_key: str | None = None, header: str = "x-api-key") -> tuple[int, dict, bytes]:
    headers = [(b"host", b"testserver")]
    if raw_key is not None:
        value = raw_key if header == "x-api-key" else f"Api-Key {raw_key}"
        headers.append((header.encode(), value.encode()))
    response = await HttpCommunicator(app, "GET", path, headers=headers).get_response(timeout=10)
    return response["status"], {k.decode().lower(): v.decode() for k, v in response["headers"]}, response["body"]


def path_of(sub: SubAccount) -> str:
    return f"/api/v1/sub-accounts/{sub.pk}/positions/"


async def test_positions_come_from_the_snapshot_without_the_full_stack(desk, alpha_book):  # noqa: F811
    from asgiref.sync import sync_to_async

    _, raw = await sync_to_async(key_for)(desk["ann"], ["read"])
    stack = Counting()
    fast = FastReads(stack)

    status, headers, body = await get(fast, path_of(alpha_book), raw)
    again = await get(fast, path_of(alpha_book), raw, header="authorization")

    assert status == 200 and again[0] == 200 and again[2] == body
    assert stack.calls == 0 and fast.served == 2
    assert headers["content-type"] == "application/json" and headers["x-frame-options"] == "DENY"
    assert json.loads(body) == [
        {"symbol": "BTCUSDT", "quantity": "0.01", "average_entry": "60000", "mark_price": "61250",
         "unrealized_pnl": "12.5", "realized_pnl": "12.5", "fees": "0.31", "notional": "612.5",
         "liquidation_price": json.loads(body)[0]["liquidation_price"]},
        {"symbol": "ETHUSDT", "quantity": "-0.5", "average_entry": "3000", "mark_price": "2990",
         "unrealized_pnl": "5", "realized_pnl": "-4", "fees": "0.6", "notional": "1495",
         "liquidation_price": json.loads(body)[1]["liquidation_price"]}]


async def test_the_fast_answer_is_the_full_stacks_answer_field_for_field(desk, alpha_book):  # noqa: F811
    from asgiref.sync import sync_to_async

    _, raw = await sync_to_async(key_for)(desk["ann"], ["read"])
    status, headers, body = await get(FastReads(Counting()), path_of(alpha_book), raw)

    def full_stack() -> tuple[int, dict, list]:
        response = Client(HTTP_X_API_KEY=raw).get(path_of(alpha_book))
        return response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.json()

    full_status, full_headers, full_body = await sync_to_async(full_stack)()
    fast_rows, full_rows = json.loads(body), full_body
    assert status == full_status == 200
    assert [list(row) for row in fast_rows] == [list(row) for row in full_rows]  # same fields, same order
    for fast_row, full_row in zip(fast_rows, full_rows, strict=True):  # marks aside (cache vs the engine's)
        for name in ("symbol", "quantity", "average_entry", "realized_pnl", "fees", "liquidation_price"):
            assert fast_row[name] == full_row[name], name
    assert set(headers) - {"content-length"} <= set(full_headers)


@pytest.mark.parametrize("case", ["no key", "unknown key", "no read scope", "not granted", "no snapshot",
                                  "query string", "expired"])
async def test_whatever_it_cannot_answer_goes_to_the_full_stack(desk, alpha_book, case):  # noqa: F811
    from asgiref.sync import sync_to_async

    ann, beta = desk["ann"], desk["beta"]
    scopes = ["trade"] if case == "no read scope" else ["read"]
    key_id, raw = await sync_to_async(key_for)(ann, scopes)
    path = {"not granted": path_of(beta), "query string": path_of(alpha_book) + "?x=1"}.get(case, path_of(alpha_book))
    if case == "no snapshot":
        redis.Redis.from_url(settings.REDIS_URL).delete(snapshot_key(alpha_book.pk))
    if case == "expired":
        from access.models import ApiKey

        await sync_to_async(ApiKey.objects.filter(pk=key_id).update)(expires_at=SYSTEM_CLOCK.now() - timedelta(1))
    stack = Counting()
    fast = FastReads(stack)

    status, _, body = await get(fast, path, {"no key": None, "unknown key": raw[:-4] + "AAAA"}.get(case, raw))

    assert stack.calls == 1 and fast.served == 0
    assert status == {"no key": 401, "unknown key": 401, "no read scope": 403, "not granted": 404,
                      "no snapshot": 200, "query string": 200, "expired": 401}[case], body


async def test_a_revoked_key_or_a_withdrawn_grant_stops_working_on_the_next_request(desk, alpha_book):  # noqa: F811
    from asgiref.sync import sync_to_async

    key_id, raw = await sync_to_async(key_for)(desk["ann"], ["read"])
    _, other = await sync_to_async(key_for)(desk["ann"], ["read"])
    fast = FastReads(Counting())
    assert (await get(fast, path_of(alpha_book), raw))[0] == 200
    assert (await get(fast, path_of(alpha_book), other))[0] == 200

    await sync_to_async(apikey_revoke)(api_key_id=key_id, actor="test")
    assert (await get(fast, path_of(alpha_book), raw))[0] == 401

    await sync_to_async(alpha_book.operators.remove)(desk["ann"])
    assert (await get(fast, path_of(alpha_book), other))[0] == 404
    assert fast.served == 2


async def test_the_keys_last_use_is_recorded_once_a_minute(desk, alpha_book):  # noqa: F811
    from asgiref.sync import sync_to_async

    from access.models import ApiKey

    key_id, raw = await sync_to_async(key_for)(desk["ann"], ["read"])
    fast = FastReads(Counting())
    await get(fast, path_of(alpha_book), raw)
    first = (await sync_to_async(ApiKey.objects.get)(pk=key_id)).last_used_at
    await get(fast, path_of(alpha_book), raw)
    second = (await sync_to_async(ApiKey.objects.get)(pk=key_id)).last_used_at

    assert first is not None and second == first and fast.served == 2


def test_amounts_are_shown_at_the_books_eighteen_places_as_the_full_stack_shows_them():
    from pms_site.fastpath import positions_body

    average = Decimal("180001") / 3  # the engine's average entry: 28 significant digits
    snapshot = {"booked": True, "positions": [{
        "symbol": "BTCUSDT", "quantity": "0.0300", "entry_price": str(average), "mark_price": "60001.5",
        "unrealized_pnl": str((D("60001.5") - average) * D("0.03")), "realized_pnl": "1E+1", "fees": "0",
        "notional": "1800.045", "liquidation_price": None}]}

    row = json.loads(positions_body(snapshot) or b"")[0]

    assert row["average_entry"] == "60000.333333333333333333" and row["quantity"] == "0.03"
    assert row["realized_pnl"] == "10" and row["fees"] == "0" and row["mark_price"] == "60001.5"
