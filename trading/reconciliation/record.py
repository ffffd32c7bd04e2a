"""The reconciliation log: one row per run (compared, found, done), announced as a `reconciliation` event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.clock import SYSTEM_CLOCK, Clock
from trading.events import Publisher, event_publish, plain
from trading.models import ReconciliationLog

Outcome = ReconciliationLog.Outcome


@dataclass
class RunRecord:
    """What one sweep saw and did, filled in as it goes and saved once at the end."""

    account: str
    kind: str
    started_at: datetime
    compared: dict[str, Any] = field(default_factory=dict)
    found: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    tolerated: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def find(self, **item: Any) -> None:
        self.found.append(plain(item))

    def act(self, **item: Any) -> None:
        self.actions.append(plain(item))

    def tolerate(self, **item: Any) -> None:
        self.tolerated.append(plain(item))
        self.found.append(plain({**item, "tolerated": True}))

    def alert(self, **item: Any) -> None:
        self.alerts.append(plain(item))

    @property
    def outcome(self) -> str:
        if self.actions:
            return Outcome.ACTED
        if self.tolerated:
            return Outcome.TOLERATED
        return Outcome.MATCHED


def run_start(*, account: str, kind: str, clock: Clock = SYSTEM_CLOCK) -> RunRecord:
    return RunRecord(account=account, kind=kind, started_at=clock.now())


def run_save(run: RunRecord, *, outcome: str | None = None, error: str = "", clock: Clock = SYSTEM_CLOCK,
             publish: Publisher = event_publish) -> ReconciliationLog:
    """Write the log row, then publish the run and its alerts (events are best effort, the row is not)."""
    row = ReconciliationLog.objects.create(
        account=run.account, kind=run.kind, outcome=outcome or run.outcome, started_at=run.started_at,
        finished_at=clock.now(), compared=plain(run.compared), found=run.found, actions=run.actions,
        alerts=run.alerts, error=error)
    if row.outcome != Outcome.SKIPPED:
        publish("risk", "reconciliation", {
            "id": row.pk, "account": row.account, "kind": row.kind, "outcome": row.outcome,
            "found": len(row.found), "actions": row.actions[:20]})
    for alert in run.alerts:
        publish("risk", "risk_alert", alert)
    return row
