"""Everything the handlers share: the engine, the server clock, streams, listenKeys, faults, counters."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from decimal import Decimal

from simexchange import wire
from simexchange.core import MatchingEngine, OrderTradeUpdate, RateLimitConfig, SymbolSpec, UserEvent
from simexchange.marketdata import MarketEvent
from simexchange.server.algo import AlgoBook, AlgoOrder
from simexchange.server.algo_wire import algo_update
from simexchange.server.connections import Connection
from simexchange.server.faults import FaultInjector
from simexchange.server.feed import publish_market_event
from simexchange.server.listenkeys import ListenKeyRegistry
from simexchange.server.streams import StreamHub
from simexchange.server.tickers import TickerBook
from simexchange.server.trace import LatencyTrace
from simexchange.server.userstream import UserStreams

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Command-line level settings of one simulated exchange."""

    host: str = "127.0.0.1"
    port: int = 0
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    source: str | None = "synthetic"  # None: no market-data loop (tests drive prices themselves)
    speed: str = "1"
    seed: int = 0
    api_key: str | None = None
    secret: str | None = None
    balance: Decimal = Decimal("100000")
    start_feed: bool = True  # False: the feed waits for `resume_feed()` (lets tests subscribe first)
    housekeeping_interval_s: float = 0.25
    listen_key_ttl_ms: int = 60 * 60 * 1000
    rate_limits: RateLimitConfig | None = None  # None: the core's Binance-like defaults
    max_connection_age_s: float = 24 * 60 * 60  # Binance closes every websocket after 24 hours
    trace: bool = False  # record latency timestamps from the start (see trace.py)


class ServerClock:
    """Wall-clock epoch milliseconds plus the clock-skew fault."""

    def __init__(self, faults: FaultInjector) -> None:
        self._faults = faults

    def __call__(self) -> int:
        skew = self._faults.peek("clock_skew")
        return time.time_ns() // 1_000_000 + (skew.ms if skew is not None else 0)


@dataclass(eq=False)
class ServerContext:
    engine: MatchingEngine
    config: ServerConfig
    faults: FaultInjector
    clock: ServerClock
    listen_keys: ListenKeyRegistry
    hub: StreamHub = field(default_factory=StreamHub)
    users: UserStreams = field(init=False)
    connections: set[Connection] = field(default_factory=set)
    bugs: list[str] = field(default_factory=list)
    known_api_keys: dict[int, str] = field(default_factory=dict)  # accounts made through the server
    trace: LatencyTrace = field(default_factory=LatencyTrace)
    # ip -> (until when a further request earns a ban, when the ban ends, ban seconds), all epoch ms but the
    # last: the state of the rate_limit fault (the engine's RateLimiter keeps the real limits' state)
    fault_bans: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    specs: dict[str, SymbolSpec] = field(init=False)
    algos: AlgoBook = field(init=False)
    tickers: TickerBook = field(init=False)

    def __post_init__(self) -> None:
        self.users = UserStreams(self.faults, self.now_ms)
        self.trace.enabled = self.config.trace
        self.specs = wire.specs_by_symbol(self.engine.symbols)
        self.algos = AlgoBook(self.engine, self._publish_algo, self.now_ms)
        self.tickers = TickerBook(self.specs)
        self.engine.events.subscribe(self._publish_user_event)

    def _publish_user_event(self, event: UserEvent) -> None:
        """Engine bus callback: render and route an ORDER_TRADE_UPDATE / ACCOUNT_UPDATE."""
        payload = wire.user_event(event, self.specs)
        self.users.deliver(event.account_id, str(payload["e"]), payload)
        if isinstance(event, OrderTradeUpdate):
            self.algos.on_order_update(event.order)

    def _publish_algo(self, order: AlgoOrder) -> None:
        payload = algo_update(order, self.specs[order.symbol], self.now_ms())
        self.users.deliver(order.account_id, "ALGO_UPDATE", payload)

    async def publish_market_event(self, event: MarketEvent) -> None:
        await publish_market_event(self.hub, self.specs, self.tickers, event)

    def on_market_event(self, event: MarketEvent) -> None:
        """Feed one market event to the engine, then let it trigger algo orders."""
        self.engine.on_market_event(event)
        if event.symbol in self.specs:
            self.algos.on_price(event.symbol)

    def now_ms(self) -> int:
        return self.clock()

    def record_bug(self, exc: BaseException) -> None:
        """A genuine server bug (the -1000 catch-all): logged and kept so tests can assert there were none."""
        text = "".join(traceback.format_exception(exc))
        log.error("simexchange server bug:\n%s", text)
        self.bugs.append(text)
