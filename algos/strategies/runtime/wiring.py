"""Process wiring for strategies: circuit-breaker events from the risk engine reach the strategies in scope."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Protocol

from trading.engine.hooks import EventSink

logger = logging.getLogger(__name__)


class RiskStateListener(Protocol):
    def strategy_risk_state(self, *, scope_kind: str, key: int, state: str, reason: str) -> Awaitable[None]: ...


def breaker_tap(publish: EventSink, listener: RiskStateListener) -> EventSink:
    """An EventSink that publishes as before and also tells the strategies of each `circuit_breaker` event."""
    tasks: set[asyncio.Task[None]] = set()

    async def tell(data: dict[str, Any]) -> None:
        try:
            await listener.strategy_risk_state(scope_kind=str(data.get("scope", "")), key=int(data.get("key", 0)),
                                               state=str(data.get("state", "")), reason=str(data.get("reason", "")))
        except Exception:  # a strategy's trouble must not break the risk engine's publishing
            logger.exception("telling strategies of a circuit breaker failed")

    def tapped(group: str, kind: str, data: dict[str, Any]) -> None:
        publish(group, kind, data)
        if kind == "circuit_breaker":
            task = asyncio.get_running_loop().create_task(tell(data))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    return tapped
