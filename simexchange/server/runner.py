"""SimExchange: start the server in-process (tests, demo) or from the command line.

async with SimExchange(ServerConfig(source=None)) as sim:
    account = sim.create_account(balance="100000")
    exchange = ccxt.pro.binanceusdm(sim.ccxt_config(account["api_key"], account["secret"]))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from decimal import Decimal
from typing import Any

from aiohttp import web

from simexchange.ccxt_config import ccxt_config
from simexchange.core import EngineConfig, MatchingEngine, RateLimitConfig
from simexchange.core.symbols import DEFAULT_SYMBOLS
from simexchange.marketdata import MarketEvent
from simexchange.server import control
from simexchange.server.app import build_app
from simexchange.server.context import ServerClock, ServerConfig, ServerContext
from simexchange.server.faults import Fault, FaultInjector
from simexchange.server.feed import MarketFeed
from simexchange.server.listenkeys import ListenKeyRegistry
from simexchange.sources import parse_speed, source_from_spec

log = logging.getLogger(__name__)


def engine_config_for(symbols: tuple[str, ...], rate_limits: RateLimitConfig | None = None) -> EngineConfig:
    """The default EngineConfig restricted to `symbols` (those the core knows; others are refused)."""
    known = {spec.symbol: spec for spec in DEFAULT_SYMBOLS}
    unknown = [s for s in symbols if s not in known]
    if unknown:
        raise ValueError(f"no symbol spec for {unknown}; known: {sorted(known)}")
    specs = tuple(known[s] for s in symbols)
    return EngineConfig(symbols=specs, rate_limits=rate_limits) if rate_limits else EngineConfig(symbols=specs)


class SimExchange:
    """One simulated exchange on 127.0.0.1: engine, server, market-data loop and housekeeping."""

    def __init__(self, config: ServerConfig | None = None, engine_config: EngineConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.faults = FaultInjector(seed=self.config.seed)
        clock = ServerClock(self.faults)
        engine_config = engine_config or engine_config_for(self.config.symbols, self.config.rate_limits)
        self.engine = MatchingEngine(engine_config, clock=clock)
        self.ctx = ServerContext(
            engine=self.engine,
            config=self.config,
            faults=self.faults,
            clock=clock,
            listen_keys=ListenKeyRegistry(self.config.listen_key_ttl_ms),
        )
        self.feed: MarketFeed | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.port = 0
        self.default_account: dict[str, Any] | None = None

    # lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.config.api_key is not None or self.config.secret is not None:
            self.default_account = self.create_account(
                api_key=self.config.api_key, secret=self.config.secret, balance=self.config.balance
            )
        if self.config.source is not None:
            self.feed = self._make_feed(self.config.source)
            self._tasks.append(asyncio.create_task(self._run_feed(self.feed), name="simexchange-feed"))
        app = build_app(self.ctx, lambda: self.feed)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="simexchange-housekeeping"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for conn in list(self.ctx.connections):
            await conn.close(code=1001, message=b"server shutdown")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimExchange:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _make_feed(self, spec: str) -> MarketFeed:
        source = source_from_spec(spec, self.config.symbols, self.config.seed, self.ctx.now_ms())
        return MarketFeed(
            events=source,
            speed=parse_speed(self.config.speed),
            on_market_event=self.ctx.on_market_event,
            publish=self.ctx.publish_market_event,
            on_error=self.ctx.record_bug,
            started=self.config.start_feed,
        )

    async def _run_feed(self, feed: MarketFeed) -> None:
        try:
            await feed.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a source or publishing bug: recorded; the REST side keeps serving
            self.ctx.record_bug(exc)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(self.config.housekeeping_interval_s)
            try:
                for entry in self.ctx.listen_keys.pop_expired(self.ctx.now_ms()):
                    self.ctx.users.listen_key_expired(entry)
                self.ctx.users.release_held()
                await self._close_old_connections()
            except Exception as exc:  # recorded, never fatal to the server
                self.ctx.record_bug(exc)

    async def _close_old_connections(self) -> None:
        oldest_allowed = time.monotonic() - self.config.max_connection_age_s
        for conn in [c for c in self.ctx.connections if c.opened_at < oldest_allowed]:
            await conn.close(code=1000, message=b"connection lifetime exceeded")

    # addresses and clients -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}/ws"

    def ccxt_config(self, api_key: str | None = None, secret: str | None = None, **options: Any) -> dict[str, Any]:
        """ccxt.pro.binanceusdm(config) for this server (the default account's keys unless given)."""
        if api_key is None and self.default_account is not None:
            api_key, secret = self.default_account["api_key"], self.default_account["secret"]
        return ccxt_config(self.base_url, api_key, secret, options=options or None)

    # the Python control API (same operations as /_sim/*) -----------------------------------------------
    def create_account(
        self, *, api_key: str | None = None, secret: str | None = None, balance: Decimal | str = "0"
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"balance": str(balance)}
        if api_key is not None:
            data["api_key"] = api_key
        if secret is not None:
            data["secret"] = secret
        return control.account_create(self.ctx, data)

    async def add_fault(self, fault: Fault | None = None, **fields: Any) -> dict[str, Any]:
        """Add a fault (`Fault(...)` or its fields); one-shot kinds act at once."""
        return await control.fault_add(self.ctx, fault if fault is not None else Fault(**fields))

    def clear_faults(self) -> None:
        control.clear_faults(self.ctx)

    async def push(self, event: MarketEvent) -> None:
        """Drive the engine and the streams with one market event (tests without a source)."""
        await control.market_event_push(self.ctx, event)

    def resume_feed(self) -> None:
        if self.feed is not None:
            self.feed.resume()

    def pause_feed(self) -> None:
        if self.feed is not None:
            self.feed.pause()

    async def disconnect(self, path: str | None = None, account: int | None = None) -> int:
        return await control.disconnect(self.ctx, path, account)

    def expire_listen_keys(self, account: int | None = None) -> int:
        return control.expire_listen_keys(self.ctx, account)

    @property
    def bugs(self) -> list[str]:
        return self.ctx.bugs

    def state(self) -> dict[str, Any]:
        return control.state(self.ctx, self.feed)
