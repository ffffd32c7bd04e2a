"""The async Venue from synchronous sweep code: one private event loop per sweep, venue closed at the end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from trading.venues.base import Venue

T = TypeVar("T")


class VenueSession:
    """Runs venue calls to completion between database steps (never with a transaction open across them)."""

    def __init__(self, venue: Venue, loop: asyncio.AbstractEventLoop) -> None:
        self.venue = venue
        self._loop = loop

    def call(self, make: Callable[[Venue], Coroutine[Any, Any, T]]) -> T:
        return self._loop.run_until_complete(make(self.venue))


@contextmanager
def venue_session(factory: Callable[[], Venue] | None = None) -> Iterator[VenueSession]:
    """`factory` builds the venue (default: the settings' venue); it is closed with its loop afterwards."""
    loop = asyncio.new_event_loop()
    try:
        if factory is None:
            from trading.venues.factory import venue_from_settings

            factory = venue_from_settings
        venue = factory()
        try:
            yield VenueSession(venue, loop)
        finally:
            loop.run_until_complete(venue.close())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
