"""Orders: the mutable record the engine keeps and the frozen view it hands out."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from simexchange.core.frozen import quick_init

ZERO: Final = Decimal(0)

BUY: Final = "BUY"
SELL: Final = "SELL"
SIDES: Final = frozenset({BUY, SELL})

LIMIT: Final = "LIMIT"
MARKET: Final = "MARKET"
ORDER_TYPES: Final = frozenset({LIMIT, MARKET})
CONDITIONAL_TYPES: Final = frozenset(
    {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
)

GTC: Final = "GTC"
IOC: Final = "IOC"
FOK: Final = "FOK"
GTX: Final = "GTX"
TIME_IN_FORCES: Final = frozenset({GTC, IOC, FOK, GTX})

# Order status (X) and execution type (x) as Binance spells them.
NEW: Final = "NEW"
PARTIALLY_FILLED: Final = "PARTIALLY_FILLED"
FILLED: Final = "FILLED"
CANCELED: Final = "CANCELED"
EXPIRED: Final = "EXPIRED"
TRADE: Final = "TRADE"
AMENDMENT: Final = "AMENDMENT"
CALCULATED: Final = "CALCULATED"  # liquidation fills
OPEN_STATUSES: Final = frozenset({NEW, PARTIALLY_FILLED})


@quick_init
@dataclass(frozen=True, slots=True)
class OrderView:
    """An order as the REST API and the user-data stream show it, frozen at one moment."""

    order_id: int
    account_id: int
    symbol: str
    client_order_id: str
    side: str
    order_type: str
    time_in_force: str
    orig_qty: Decimal
    price: Decimal
    executed_qty: Decimal
    cum_quote: Decimal
    status: str
    reduce_only: bool
    time_ms: int
    update_time_ms: int
    orig_type: str
    position_side: str = "BOTH"
    close_position: bool = False
    stop_price: Decimal = ZERO
    working_type: str = "CONTRACT_PRICE"
    price_protect: bool = False
    price_match: str = "NONE"
    self_trade_prevention_mode: str = "NONE"
    good_till_date: int = 0

    @property
    def avg_price(self) -> Decimal:
        """Average fill price (0 before the first fill)."""
        return self.cum_quote / self.executed_qty if self.executed_qty else ZERO

    @property
    def is_open(self) -> bool:
        """NEW or PARTIALLY_FILLED."""
        return self.status in OPEN_STATUSES


class Order:
    """The engine's live order; only the engine mutates it. Others get `view()` snapshots."""

    __slots__ = (
        "account_id",
        "client_order_id",
        "cum_quote",
        "executed_qty",
        "modify_count",
        "order_id",
        "order_type",
        "orig_qty",
        "price",
        "reduce_only",
        "seq",
        "side",
        "status",
        "symbol",
        "time_in_force",
        "time_ms",
        "update_time_ms",
    )

    def __init__(
        self,
        *,
        order_id: int,
        account_id: int,
        symbol: str,
        client_order_id: str,
        side: str,
        order_type: str,
        time_in_force: str,
        orig_qty: Decimal,
        price: Decimal,
        reduce_only: bool,
        time_ms: int,
        seq: int,
    ) -> None:
        self.order_id = order_id
        self.account_id = account_id
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.side = side
        self.order_type = order_type
        self.time_in_force = time_in_force
        self.orig_qty = orig_qty
        self.price = price
        self.reduce_only = reduce_only
        self.time_ms = time_ms
        self.update_time_ms = time_ms
        self.seq = seq
        self.status = NEW
        self.executed_qty = ZERO
        self.cum_quote = ZERO
        self.modify_count = 0

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill."""
        return self.orig_qty - self.executed_qty

    @property
    def is_open(self) -> bool:
        """NEW or PARTIALLY_FILLED."""
        return self.status in OPEN_STATUSES

    @property
    def is_buy(self) -> bool:
        """True for BUY orders."""
        return self.side == BUY

    def view(self) -> OrderView:
        """A frozen snapshot of the order now."""
        return OrderView(
            order_id=self.order_id,
            account_id=self.account_id,
            symbol=self.symbol,
            client_order_id=self.client_order_id,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            orig_qty=self.orig_qty,
            price=self.price,
            executed_qty=self.executed_qty,
            cum_quote=self.cum_quote,
            status=self.status,
            reduce_only=self.reduce_only,
            time_ms=self.time_ms,
            update_time_ms=self.update_time_ms,
            orig_type=self.order_type,
        )


def buy_priority(order: Order) -> tuple[Decimal, int]:
    """Best (highest) price first, then oldest."""
    return (-order.price, order.seq)


def sell_priority(order: Order) -> tuple[Decimal, int]:
    """Best (lowest) price first, then oldest."""
    return (order.price, order.seq)
