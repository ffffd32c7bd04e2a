"""Trading states at three scopes (global, sub-account, algo/strategy): the most restrictive one governs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TradingState(StrEnum):
    ACTIVE = "active"  # every order the limits allow
    REDUCING = "reducing"  # only orders that reduce the sub-account's exposure
    HALTED = "halted"  # only cancels

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class ScopeKind(StrEnum):
    GLOBAL = "global"
    SUB_ACCOUNT = "sub_account"
    ALGO = "algo"


@dataclass(frozen=True, slots=True)
class Scope:
    kind: ScopeKind
    key: int = 0  # sub-account id or algo run id; 0 for global

    def __str__(self) -> str:
        return "global" if self.kind is ScopeKind.GLOBAL else f"{self.kind.value} {self.key}"


GLOBAL = Scope(ScopeKind.GLOBAL)


def sub_account_scope(sub_account_id: int) -> Scope:
    return Scope(ScopeKind.SUB_ACCOUNT, sub_account_id)


def algo_scope(algo_run_id: int) -> Scope:
    return Scope(ScopeKind.ALGO, algo_run_id)


@dataclass(frozen=True, slots=True)
class ScopeState:
    scope: Scope
    state: TradingState
    reason: str = ""


ACTIVE_GLOBAL = ScopeState(GLOBAL, TradingState.ACTIVE)


def governing(*states: ScopeState | None) -> ScopeState | None:
    """The most restrictive of the states that apply to an order (None when all are active)."""
    worst: ScopeState | None = None
    for item in states:
        if item is not None and item.state is not TradingState.ACTIVE and (
                worst is None or item.state.severity > worst.state.severity):
            worst = item
    return worst
