"""Engine control: start / stop / pause / resume as engine commands (staff only, audited), and what the engine does."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from core.clock import SYSTEM_CLOCK
from trading.domain.client_ids import OrderOrigin
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType, Side
from trading.engine.commands import EngineControl
from trading.models import AuditLog, EngineCommand
from trading.tests.engine.harness import ALPHA, make_harness

D = Decimal


def limit(price: str = "59000.0") -> OrderIntent:
    return OrderIntent(ALPHA, "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.01"), D(price), origin=OrderOrigin.LMT)


async def test_pause_refuses_new_orders_but_cancels_still_go_and_resume_lets_them_through():
    h = await make_harness()
    control = EngineControl(manager=h.manager)
    working = await h.manager.place(limit())
    assert working.ok and working.client_order_id

    await control.pause({"reason": "exchange maintenance"})
    refused = await h.manager.place(limit("58000.0"))
    cancelled = await h.manager.cancel(working.client_order_id)

    assert not refused.ok and "paused by an operator: exchange maintenance" in (refused.reason or "")
    assert cancelled.ok
    await control.resume({})
    assert (await h.manager.place(limit("58000.0"))).ok


async def test_the_engine_own_resume_after_a_stream_gap_does_not_undo_an_operator_pause():
    h = await make_harness()
    control = EngineControl(manager=h.manager)
    await control.pause({"reason": "investigating"})

    h.manager.pause("user-data stream restarting; reconciling")
    h.manager.resume()  # what the runner does once the gap is reconciled

    assert h.manager.paused_reason == "paused by an operator: investigating"
    assert not (await h.manager.place(limit())).ok


async def test_stop_stops_every_algo_cancels_every_working_order_then_stays_paused():
    h = await make_harness()
    stopped_algos: list[str] = []

    async def stop_all() -> list[int]:
        stopped_algos.append("all")
        return [7]

    control = EngineControl(manager=h.manager, stop_algos=stop_all)
    first, second = await h.manager.place(limit()), await h.manager.place(limit("58500.0"))

    result = await control.stop({"reason": "end of day"})

    assert stopped_algos == ["all"] and result["algos_stopped"] == [7]
    assert set(result["cancelled"]) == {first.client_order_id, second.client_order_id}
    assert not h.manager.live
    assert not (await h.manager.place(limit())).ok
    await control.start({})
    assert (await h.manager.place(limit())).ok


@pytest.mark.django_db(transaction=True)
async def test_a_restarted_engine_stays_paused_when_the_last_control_command_done_was_a_pause():
    from asgiref.sync import sync_to_async

    def done(kind: str, reason: str) -> None:
        import uuid

        now = SYSTEM_CLOCK.now()
        EngineCommand.objects.create(id=uuid.uuid4(), kind=kind, payload={"reason": reason}, status="done",
                                     actor_label="ann", created_at=now, finished_at=now)

    await sync_to_async(done)("engine_pause", "halted for the night")
    h = await make_harness()
    await EngineControl(manager=h.manager).restore()
    assert h.manager.paused_reason == "paused by an operator: halted for the night"

    await sync_to_async(done)("engine_resume", "")
    h2 = await make_harness()
    await EngineControl(manager=h2.manager).restore()
    assert h2.manager.paused_reason is None


# -- the API and the page --------------------------------------------------------------------------------

@pytest.fixture
def staff(desk):
    user = User.objects.create_user("sam", password="sam-password-1", is_staff=True)
    desk["gamma"].operators.add(user)
    return user


def test_staff_pause_the_engine_through_the_api_as_an_audited_command(desk, staff, client_for):
    response = client_for(staff).post("/api/v1/engine/pause/", {"reason": "maintenance"}, format="json")

    assert response.status_code == 202, response.content
    command = EngineCommand.objects.get(pk=response.json()["id"])
    assert command.kind == "engine_pause" and command.payload == {"reason": "maintenance"}
    assert AuditLog.objects.filter(action="engine_pause", actor_label="sam").exists()
    assert client_for(staff).get(f"/api/v1/commands/{command.pk}/").status_code == 200


def test_an_operator_who_is_not_staff_cannot_control_the_engine_and_nothing_is_queued(desk, client_for):
    for action in ("start", "stop", "pause", "resume"):
        response = client_for(desk["ann"]).post(f"/api/v1/engine/{action}/", {"reason": "x"}, format="json")
        assert response.status_code == 403
        assert "only staff" in response.json()["message"]
    assert not EngineCommand.objects.exists()


def test_pause_and_stop_need_a_reason_and_an_unknown_action_is_not_a_route(desk, staff, client_for):
    response = client_for(staff).post("/api/v1/engine/stop/", {"reason": "  "}, format="json")
    assert response.status_code == 400 and "reason is required to stop" in response.json()["message"]
    assert client_for(staff).post("/api/v1/engine/explode/", {}, format="json").status_code == 404
    assert not EngineCommand.objects.exists()


def test_the_risk_page_engine_control_queues_the_command_for_staff_only(desk, staff, client_for):
    refused = client_for(desk["ann"]).post("/engine/control/", {"action": "pause", "reason": "x"})
    assert refused.status_code == 403 and not EngineCommand.objects.exists()
    missing = client_for(staff).post("/engine/control/", {"action": "pause", "reason": ""})
    assert "reason is required to pause" in missing.content.decode() and not EngineCommand.objects.exists()

    sent = client_for(staff).post("/engine/control/", {"action": "stop", "reason": "closing"})

    assert "stop sent to the engine" in sent.content.decode()
    assert EngineCommand.objects.get().kind == "engine_stop"
