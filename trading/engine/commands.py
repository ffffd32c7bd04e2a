"""The engine side of commands: LISTEN plus a polling fallback, claim, execute once, answer on the row."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import psycopg
from asgiref.sync import sync_to_async
from django.db import transaction

from core.clock import SYSTEM_CLOCK, Clock, datetime_to_ms
from core.errors import AppError
from trading.domain.client_ids import OrderOrigin
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType, Side, TimeInForce
from trading.engine.metrics import METRICS
from trading.engine.order_manager import OrderManager, OrderResult
from trading.models import EngineCommand, Order
from trading.services.commands import NOTIFY_CHANNEL

logger = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def _claim(limit: int, now: Any, include_running: bool) -> list[EngineCommand]:
    statuses = [EngineCommand.Status.PENDING] + ([EngineCommand.Status.RUNNING] if include_running else [])
    with transaction.atomic():
        rows = list(EngineCommand.objects.select_for_update(skip_locked=True)
                    .filter(status__in=statuses).order_by("created_at")[:limit])
        for row in rows:
            row.status, row.started_at = EngineCommand.Status.RUNNING, now
            row.save(update_fields=["status", "started_at"])
    return rows


def _finish(command_id: Any, status: str, result: dict[str, Any], error: str, now: Any) -> None:
    EngineCommand.objects.filter(pk=command_id).update(status=status, result=result, error=error, finished_at=now)


def _result(result: OrderResult) -> dict[str, Any]:
    if not result.ok:
        raise AppError(result.reason or "refused", code=result.code or "refused")
    return {"client_order_id": result.client_order_id, "status": result.status.value if result.status else None,
            "note": result.reason,
            "estimated_fill_price": str(result.estimated_fill_price) if result.estimated_fill_price else None}


class CommandProcessor:
    def __init__(self, *, manager: OrderManager, database_url: str, clock: Clock = SYSTEM_CLOCK,
                 poll_interval_s: float = 1.0, extra_handlers: dict[str, Handler] | None = None) -> None:
        self.manager, self.clock = manager, clock
        self.database_url = database_url
        self.poll_interval_s = poll_interval_s
        self.handlers: dict[str, Handler] = {
            "place_order": self._place_order, "cancel_order": self._cancel_order, "cancel_all": self._cancel_all}
        self.handlers.update(extra_handlers or {})  # e.g. start_algo / stop_algo from the algos app

    async def run(self) -> None:
        """Commands left running by a crash are executed again (each handler is idempotent), then new ones."""
        await self.drain(include_running=True)
        async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as listener:
            await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            while True:
                await self.drain()
                async for _ in listener.notifies(timeout=self.poll_interval_s, stop_after=1):
                    pass

    async def drain(self, *, include_running: bool = False) -> int:
        executed = 0
        while commands := await sync_to_async(_claim)(20, self.clock.now(), include_running):
            include_running = False
            for command in commands:
                await self.execute(command)
                executed += 1
        return executed

    async def execute(self, command: EngineCommand) -> None:
        METRICS.command_queue_lag_ms.observe(max(0, self.clock.now_ms() - datetime_to_ms(command.created_at)))
        handler = self.handlers.get(command.kind)
        status, result, error = EngineCommand.Status.DONE, {}, ""
        try:
            if handler is None:
                raise AppError(f"unknown command {command.kind!r}")
            result = await handler(command.payload)
        except AppError as exc:
            status, error = EngineCommand.Status.FAILED, exc.user_message
        except Exception as exc:  # one bad command must not stop the engine; the row says what happened
            logger.exception("command failed", extra={"command_id": str(command.pk)})
            status, error = EngineCommand.Status.FAILED, f"internal error: {exc}"
        await sync_to_async(_finish)(command.pk, status, result, error, self.clock.now())

    async def _place_order(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_order_id = payload["client_order_id"]
        existing = await sync_to_async(lambda: Order.objects.filter(client_order_id=client_order_id).first())()
        if existing is not None:  # run before a crash: report, never place twice
            return {"client_order_id": client_order_id, "status": existing.status, "note": "already placed"}
        price = Decimal(payload["price"]) if payload.get("price") else None
        order_type = OrderType(payload["order_type"])
        intent = OrderIntent(
            sub_account_id=int(payload["sub_account_id"]), symbol=payload["symbol"], side=Side(payload["side"]),
            order_type=order_type, quantity=Decimal(payload["quantity"]), price=price,
            time_in_force=TimeInForce(payload["time_in_force"]) if payload.get("time_in_force") else None,
            reduce_only=bool(payload.get("reduce_only")),
            origin=OrderOrigin.LMT if order_type is OrderType.LIMIT else OrderOrigin.MKT,
            client_order_id=client_order_id)
        return _result(await self.manager.place(intent))

    async def _cancel_order(self, payload: dict[str, Any]) -> dict[str, Any]:
        return _result(await self.manager.cancel(payload["client_order_id"]))

    async def _cancel_all(self, payload: dict[str, Any]) -> dict[str, Any]:
        results = await self.manager.cancel_all(sub_account_id=payload.get("sub_account_id"),
                                                symbol=payload.get("symbol"))
        return {"cancelled": [r.client_order_id for r in results if r.ok],
                "failed": {str(r.client_order_id): r.reason for r in results if not r.ok}}


ENGINE_CONTROL_KINDS = ("engine_start", "engine_stop", "engine_pause", "engine_resume")


class EngineControl:
    """Operator control of the whole engine: pause / resume new orders, stop (every algo, every working order,
    then pause) and start (resume). Fail closed: a paused engine still cancels.

    An operator's pause outlives the engine's own resumes (after a stream gap is reconciled) and its restarts:
    on start the last control command done is applied again (`restore`).
    """

    def __init__(self, *, manager: OrderManager,
                 stop_algos: Callable[[], Awaitable[list[int]]] | None = None) -> None:
        self.manager = manager
        self.stop_algos = stop_algos
        self.operator_reason: str | None = None
        internal_resume = manager.resume

        def resume_unless_operator_paused() -> None:
            if self.operator_reason is None:
                internal_resume()
            else:
                manager.pause(self.operator_reason)

        self._internal_resume = internal_resume
        manager.resume = resume_unless_operator_paused  # type: ignore[method-assign]

    def handlers(self) -> dict[str, Handler]:
        return {"engine_start": self.start, "engine_stop": self.stop, "engine_pause": self.pause,
                "engine_resume": self.resume}

    def _pause(self, reason: str) -> None:
        self.operator_reason = f"paused by an operator: {reason}" if reason else "paused by an operator"
        self.manager.pause(self.operator_reason)

    async def pause(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._pause(str(payload.get("reason", "")))
        return {"status": "paused", "reason": self.operator_reason}

    async def resume(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.operator_reason = None
        self._internal_resume()
        return {"status": "running" if self.manager.paused_reason is None else "paused",
                "reason": self.manager.paused_reason or ""}

    async def start(self, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.resume(payload)

    async def stop(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Pause first, so nothing new goes out while algos stop and working orders are cancelled."""
        self._pause(str(payload.get("reason", "")) or "engine stopped")
        stopped = await self.stop_algos() if self.stop_algos is not None else []
        results = await self.manager.cancel_all()
        return {"status": "stopped", "algos_stopped": stopped,
                "cancelled": [r.client_order_id for r in results if r.ok],
                "cancel_failed": {str(r.client_order_id): r.reason for r in results if not r.ok}}

    async def restore(self) -> None:
        """After a restart: an engine an operator paused or stopped stays paused until someone resumes it."""
        last = await sync_to_async(lambda: EngineCommand.objects.filter(
            kind__in=ENGINE_CONTROL_KINDS, status=EngineCommand.Status.DONE).order_by("-finished_at").first())()
        if last is not None and last.kind in ("engine_pause", "engine_stop"):
            self._pause(str(last.payload.get("reason", "")) or "engine stopped")
            logger.info("engine stays paused after restart: %s", self.operator_reason)
