"""An engine over the in-process matching core and the memory journal: real order logic, no sockets."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.clock import VirtualClock
from simexchange.core.engine import MatchingEngine
from simexchange.marketdata import BookTicker, MarkPrice
from trading.domain.records import SubAccountInfo
from trading.engine.journal import MemoryJournal
from trading.engine.order_manager import OrderManager
from trading.engine.routing import FillRouter
from trading.venues.inprocess import InProcessVenue

D = Decimal
ALPHA, BETA, HOUSE = 1, 2, 99
SUBS = [SubAccountInfo(ALPHA, "alpha000", "alpha", "active"), SubAccountInfo(BETA, "beta0000", "beta", "active"),
        SubAccountInfo(HOUSE, "house000", "house", "active", is_house=True)]


@dataclass
class Harness:
    clock: VirtualClock
    exchange: MatchingEngine
    account_id: int
    venue: InProcessVenue
    journal: MemoryJournal
    manager: OrderManager
    router: FillRouter
    events: list[tuple[str, str, dict]]
    update_id: int = 0

    def quote(self, symbol: str, bid: str, ask: str, size: str = "10") -> None:
        self.update_id += 1
        now = self.clock.now_ms()
        self.exchange.on_book_ticker(BookTicker(symbol, self.update_id, D(bid), D(size), D(ask), D(size), now, now))
        mid = (D(bid) + D(ask)) / 2
        self.exchange.on_mark_price(MarkPrice(symbol, mid, mid, mid, D("0.0001"), now + 3_600_000, now))

    async def pump(self) -> int:
        events = self.venue.drain_user_events()
        for event in events:
            await self.router.handle(event)
        return len(events)

    def exchange_position(self, symbol: str) -> Decimal:
        for position in self.exchange.positions(self.account_id, symbol):
            return position.position_amt
        return D(0)


async def make_harness() -> Harness:
    clock = VirtualClock(1_700_000_000_000)
    exchange = MatchingEngine(clock=clock.now_ms)
    account_id = exchange.create_account(api_key="key", secret="secret", deposit=D("1000000"))
    venue = InProcessVenue(exchange, account_id)
    journal = MemoryJournal(SUBS, await venue.instruments())
    events: list[tuple[str, str, dict]] = []
    manager = OrderManager(venue=venue, journal=journal, clock=clock,
                           publish=lambda group, kind, data: events.append((group, kind, data)))
    await manager.load()
    manager.resume()
    router = FillRouter(journal=journal, manager=manager, venue=venue,
                        sub_account_codes={sub.code: sub.sub_account_id for sub in SUBS},
                        house_sub_account_id=HOUSE, clock=clock,
                        publish=lambda group, kind, data: events.append((group, kind, data)))
    harness = Harness(clock, exchange, account_id, venue, journal, manager, router, events)
    for symbol, (bid, ask) in {"BTCUSDT": ("60000.0", "60000.1"), "ETHUSDT": ("3000.00", "3000.01")}.items():
        harness.quote(symbol, bid, ask)
    return harness
