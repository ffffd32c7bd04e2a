"""User-data events (ORDER_TRADE_UPDATE, ACCOUNT_UPDATE) and the bus that delivers them per account."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from simexchange.core.frozen import quick_init
from simexchange.core.orders import ZERO, OrderView

# ACCOUNT_UPDATE reasons (field "m") the engine produces.
REASON_ORDER = "ORDER"
REASON_FUNDING_FEE = "FUNDING_FEE"
REASON_DEPOSIT = "DEPOSIT"
REASON_WITHDRAW = "WITHDRAW"


@quick_init
@dataclass(frozen=True, slots=True)
class OrderTradeUpdate:
    """ORDER_TRADE_UPDATE: an order changed (x = execution_type); trade fields are zero unless x is TRADE/CALCULATED."""

    account_id: int
    event_time_ms: int
    transaction_time_ms: int
    order: OrderView
    execution_type: str
    last_filled_qty: Decimal = ZERO
    last_filled_price: Decimal = ZERO
    commission: Decimal = ZERO
    commission_asset: str | None = None
    trade_id: int = 0
    is_maker: bool = False
    realized_profit: Decimal = ZERO
    bids_notional: Decimal = ZERO
    asks_notional: Decimal = ZERO


@quick_init
@dataclass(frozen=True, slots=True)
class BalanceChange:
    """One entry of ACCOUNT_UPDATE "B"."""

    asset: str
    wallet_balance: Decimal
    cross_wallet_balance: Decimal
    balance_change: Decimal  # "bc": change other than PnL and commission


@quick_init
@dataclass(frozen=True, slots=True)
class PositionChange:
    """One entry of ACCOUNT_UPDATE "P" (one-way mode: position_side BOTH, cross margin)."""

    symbol: str
    position_amt: Decimal
    entry_price: Decimal
    break_even_price: Decimal
    accumulated_realized: Decimal
    unrealized_pnl: Decimal
    margin_type: str = "cross"
    isolated_wallet: Decimal = ZERO
    position_side: str = "BOTH"


@quick_init
@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """ACCOUNT_UPDATE: balances and positions that changed, and why (reason "m")."""

    account_id: int
    event_time_ms: int
    transaction_time_ms: int
    reason: str
    balances: tuple[BalanceChange, ...]
    positions: tuple[PositionChange, ...]


UserEvent = OrderTradeUpdate | AccountUpdate
EventCallback = Callable[[UserEvent], None]


class EventBus:
    """Delivers each event to registered callbacks and keeps it for `drain` (bounded, oldest dropped)."""

    def __init__(self, *, max_queued: int = 100_000) -> None:
        self._callbacks: list[tuple[int | None, EventCallback]] = []
        self._queue: deque[UserEvent] = deque(maxlen=max_queued) if max_queued > 0 else deque(maxlen=0)

    def subscribe(self, callback: EventCallback, *, account_id: int | None = None) -> Callable[[], None]:
        """Call `callback` for every event (of `account_id` only, if given); returns an unsubscribe function.

        Callbacks run inside the engine call that caused the event, before it returns: they must be quick,
        must not raise, and must not call back into the engine (queue the work, or use `drain` instead).
        """
        entry = (account_id, callback)
        self._callbacks.append(entry)

        def unsubscribe() -> None:
            if entry in self._callbacks:
                self._callbacks.remove(entry)

        return unsubscribe

    def stop_queueing(self) -> None:
        """From now on hand events to the callbacks only, keeping none for `drain`.

        For a sole consumer that subscribes and never drains (the PMS in-process venue of backtests): the queue
        would otherwise hold the last `max_queued` events, a heap that grows with the run and slows everything.
        """
        self._queue = deque(maxlen=0)

    def publish(self, event: UserEvent) -> None:
        """Queue the event and hand it to the callbacks, in registration order."""
        self._queue.append(event)
        for account_id, callback in tuple(self._callbacks):
            if account_id is None or account_id == event.account_id:
                callback(event)

    def drain(self, account_id: int | None = None) -> list[UserEvent]:
        """Remove and return the queued events (of `account_id` only, if given), oldest first."""
        if account_id is None:
            events = list(self._queue)
            self._queue.clear()
            return events
        taken = [e for e in self._queue if e.account_id == account_id]
        kept = [e for e in self._queue if e.account_id != account_id]
        self._queue.clear()
        self._queue.extend(kept)
        return taken
