"""The pure matching core of the simulated exchange: orders, fills, margin, funding, liquidation, rate limits.

Synchronous and deterministic: time comes from an injected clock (epoch ms) and prices from market events.
"""

from simexchange.core.accounts import UserTrade
from simexchange.core.brackets import Bracket, maintenance_margin
from simexchange.core.config import EngineConfig, RateLimitConfig
from simexchange.core.engine import Credentials, LeverageChange, MatchingEngine
from simexchange.core.errors import ExchangeError, check_recv_window
from simexchange.core.events import (
    AccountUpdate,
    BalanceChange,
    EventBus,
    OrderTradeUpdate,
    PositionChange,
    UserEvent,
)
from simexchange.core.margin import AccountView, PositionView
from simexchange.core.marketdata_state import MarketState
from simexchange.core.orders import OrderView
from simexchange.core.ratelimit import RateLimiter, UsedCounts
from simexchange.core.symbols import DEFAULT_SYMBOLS, DepthModel, SymbolSpec

__all__ = [
    "DEFAULT_SYMBOLS",
    "AccountUpdate",
    "AccountView",
    "BalanceChange",
    "Bracket",
    "Credentials",
    "DepthModel",
    "EngineConfig",
    "EventBus",
    "ExchangeError",
    "LeverageChange",
    "MarketState",
    "MatchingEngine",
    "OrderTradeUpdate",
    "OrderView",
    "PositionChange",
    "PositionView",
    "RateLimitConfig",
    "RateLimiter",
    "SymbolSpec",
    "UsedCounts",
    "UserEvent",
    "UserTrade",
    "check_recv_window",
    "maintenance_margin",
]
