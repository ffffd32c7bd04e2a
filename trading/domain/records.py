"""What crosses the Journal port: order intents, fill reports and booking results (plain values)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.frozen import quick_init
from core.money import ZERO

from .client_ids import OrderOrigin
from .orders import OrderStatus
from .positions import Position, PositionChange
from .types import OrderType, Side, TimeInForce


@quick_init
@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order a sub-account wants; validated and journaled before anything is sent."""

    sub_account_id: int
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    origin: OrderOrigin = OrderOrigin.LMT
    algo_run_id: int | None = None
    client_order_id: str | None = None  # given when a caller must know it in advance (replacements, retries)


@quick_init
@dataclass(frozen=True, slots=True)
class JournaledOrder:
    """An order as committed: the intent plus its id and progress."""

    client_order_id: str
    sub_account_id: int
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    time_in_force: TimeInForce | None
    reduce_only: bool
    origin: OrderOrigin
    algo_run_id: int | None
    status: OrderStatus = OrderStatus.PENDING_SUBMIT
    filled_quantity: Decimal = ZERO
    average_price: Decimal | None = None
    exchange_order_id: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class FillReport:
    """An execution as the exchange (or a reconciliation) reports it, already routed to a sub-account."""

    trade_key: str
    sub_account_id: int
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    executed_at: datetime
    fee: Decimal = ZERO
    fee_asset: str = "USDT"
    is_maker: bool = False
    client_order_id: str = ""
    order_id: int | None = None
    is_synthetic: bool = False
    quote_asset: str = "USDT"


@quick_init
@dataclass(frozen=True, slots=True)
class FillBooked:
    fill_id: int
    sub_account_id: int
    position: Position
    change: PositionChange


@dataclass(frozen=True, slots=True)
class SubAccountInfo:
    sub_account_id: int
    code: str
    name: str
    status: str  # active, frozen, closed
    is_house: bool = False
