"""One backtest: check the request, open the price source, start the algo on the first quote, replay, collect."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from algos.backtest.replay import Replay, ReplayStats
from algos.backtest.world import SUB_ACCOUNT_ID, BacktestWorld, world_create
from algos.domain.params import ParamError, chase_params, decimal_field, trail_params, twap_spec
from algos.engine import RunRecord
from core.errors import AppError
from simexchange.core.symbols import DEFAULT_SYMBOLS
from simexchange.marketdata import BookTicker, MarketEvent, Trade
from simexchange.sources import MAX_SPEED, PriceSource, SyntheticSource, paced, source_from_spec, spec_for
from trading.domain.client_ids import OrderOrigin
from trading.domain.instruments import InstrumentRules
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType, Side

ALGO_KINDS = {"chase": "chase", "twap": "twap", "trail": "trail_stop", "trail_stop": "trail_stop",
              "scalper": "scalper"}
ALGO_RUN_ID = 1
SYNTHETIC_START_MS = 1_735_689_600_000  # 2025-01-01 00:00 UTC: a fixed start, so a seed replays exactly
SYNTHETIC_EVENTS_PER_S = 14  # quotes (10/s), trades (3/s) and one mark per second: the progress estimate
FIRST_QUOTE_LOOKAHEAD = 200_000  # events searched for the first quote when checking parameters


class BacktestError(ValueError):
    """A request the user must change (unknown algo, missing data, bad parameter); nothing ran."""


def algo_kinds() -> list[str]:
    return ["chase", "scalper", "twap", "trail"]


@dataclass(frozen=True)
class BacktestRequest:
    algo: str  # chase, scalper, twap, trail
    data: str  # "synthetic" or PATH[,PATH...]
    symbol: str
    side: str
    quantity: Decimal
    params: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    duration_s: int = 3600  # synthetic data only
    speed: float = MAX_SPEED
    keep_going: bool = False  # replay the whole data even after the algo finished
    max_seconds: int | None = None  # stop after this much simulated time from the first quote

    @property
    def kind(self) -> str:
        return ALGO_KINDS[self.algo]

    def algo_parameters(self) -> dict[str, Any]:
        return {**self.params, "symbol": self.symbol, "side": self.side, "quantity": str(self.quantity)}


@dataclass
class BacktestResult:
    request: BacktestRequest
    world: BacktestWorld
    stats: ReplayStats
    arrival_mid: Decimal | None
    decision_mid: Decimal | None  # trail stop: the mid when it triggered
    wall_s: float
    outcome: str
    entry_client_order_id: str | None = None  # trail stop: the order that opened the protected position


def request_check(request: BacktestRequest) -> None:
    """What can be checked before any data is read."""
    if request.algo not in ALGO_KINDS:
        raise BacktestError(f"unknown algo {request.algo!r}; choose one of {', '.join(algo_kinds())}")
    symbols = [spec.symbol for spec in DEFAULT_SYMBOLS]
    if request.symbol not in symbols:
        raise BacktestError(f"unknown symbol {request.symbol!r}: the in-process exchange lists {', '.join(symbols)}")
    if request.side not in ("buy", "sell"):
        raise BacktestError(f"--side must be buy or sell, got {request.side!r}")
    if not request.quantity.is_finite() or request.quantity <= 0:
        raise BacktestError(f"--quantity must be positive, got {request.quantity}")
    if request.max_seconds is not None and request.max_seconds <= 0:
        raise BacktestError(f"--max-seconds must be positive, got {request.max_seconds}")
    if request.duration_s <= 0:
        raise BacktestError(f"--duration must be a positive number of seconds, got {request.duration_s}")
    _data_check(request.data)


def _data_check(data: str) -> None:
    if data.strip().lower() == "synthetic":
        return
    for part in (piece.strip() for piece in data.split(",") if piece.strip()):
        if not Path(part).expanduser().exists():
            raise BacktestError(f"data file {part!r} does not exist; give a capture (.gz), a Binance CSV "
                                "(bookTicker, aggTrades, klines), a folder of them, or 'synthetic'")


def source_open(request: BacktestRequest) -> PriceSource:
    if request.data.strip().lower() == "synthetic":
        start = SYNTHETIC_START_MS
        return SyntheticSource([spec_for(request.symbol)], seed=request.seed, start_ms=start,
                               end_ms=start + request.duration_s * 1000)
    try:
        return source_from_spec(request.data, [request.symbol])
    except (FileNotFoundError, ValueError) as exc:
        raise BacktestError(f"cannot replay {request.data!r}: {exc}") from None


def first_quote(events: Iterable[MarketEvent], symbol: str) -> BookTicker | Trade:
    for event in itertools.islice(events, FIRST_QUOTE_LOOKAHEAD):
        if isinstance(event, BookTicker | Trade) and event.symbol == symbol:
            return event
    raise BacktestError(f"no quote or trade for {symbol} in the first {FIRST_QUOTE_LOOKAHEAD:,} events of the data")


def price_of(event: BookTicker | Trade) -> Decimal:
    if isinstance(event, BookTicker):
        return (event.bid_price + event.ask_price) / 2
    return event.price


def params_check(request: BacktestRequest, rules: InstrumentRules, reference: Decimal) -> None:
    """The live validation (algos.domain.params) at the data's first price; ParamError says what to change."""
    params = request.algo_parameters()
    try:
        if request.kind == "chase":
            chase_params(params, rules, reference)
        elif request.kind == "twap":
            twap_spec(params, rules, reference, 0, 0)
        elif request.kind == "trail_stop":
            signed = request.quantity if request.side == "buy" else -request.quantity
            trail_params(params, signed)
            decimal_field(params, "trail_pct")
        # The scalper's parameters are checked by the engine when it starts (before the first order).
    except ParamError as exc:
        raise BacktestError(str(exc)) from None


def estimate_events(request: BacktestRequest) -> int | None:
    """Roughly how many events the data holds, for the progress bar (None: unknown)."""
    if request.data.strip().lower() == "synthetic":
        return request.duration_s * SYNTHETIC_EVENTS_PER_S
    from simexchange.sources.discovery import find_data_files
    from simexchange.sources.ws_capture import open_binary

    total = 0
    try:
        for found in find_data_files(request.data, [request.symbol]):
            if found.kind == "klines":
                return None  # candles become a path of several quotes each: no cheap count
            with open_binary(found.path) as raw:
                total += sum(chunk.count(b"\n") for chunk in iter(lambda: raw.read(1 << 20), b""))
    except (OSError, ValueError):
        return None
    return total or None


async def backtest_run(request: BacktestRequest, *, progress: Callable[[ReplayStats], None] | None = None,
                       record_prices: bool = True) -> BacktestResult:
    """Check everything, then replay; raises BacktestError before anything ran when the request is bad."""
    request_check(request)
    source = source_open(request)
    try:
        first = first_quote(source, request.symbol)
    except (OSError, ValueError) as exc:
        if isinstance(exc, BacktestError):
            raise
        raise BacktestError(f"cannot read {request.data!r}: {exc}") from None
    world = await world_create(start_ms=first.event_time_ms)
    rules = world.instruments[request.symbol]
    params_check(request, rules, price_of(first))
    driver = _Driver(request, world)
    replay = Replay(world, symbols=[request.symbol], record_prices=record_prices, before_quote=driver.before_quote,
                    after_quote=driver.after_quote, progress=progress, progress_every=2_000)
    driver.replay = replay
    events: Iterable[MarketEvent] | AsyncIterable[MarketEvent] = iter(source)
    if request.speed != MAX_SPEED:
        events = paced(_iterate(source), speed=request.speed)
    started = time.perf_counter()
    await replay.run(events)
    await driver.finish()
    wall = time.perf_counter() - started
    return BacktestResult(request, world, replay.stats, driver.arrival_mid, driver.decision_mid, wall,
                          driver.outcome(), driver.entry_client_order_id)


def _iterate(source: PriceSource) -> Iterator[MarketEvent]:
    yield from source


class _Driver:
    """Starts the algo on the first quote (a trail stop first gets its position), notices when it ends."""

    def __init__(self, request: BacktestRequest, world: BacktestWorld) -> None:
        self.request, self.world = request, world
        self.replay: Replay | None = None
        self.started = False
        self.arrival_mid: Decimal | None = None
        self.decision_mid: Decimal | None = None
        self.entry_client_order_id: str | None = None
        self._last_mid: Decimal | None = None
        self._deadline_ms: int | None = None

    async def before_quote(self, quote: BookTicker) -> None:
        self._last_mid = (quote.bid_price + quote.ask_price) / 2
        if self.started:
            return
        self.started = True
        self.arrival_mid = self._last_mid
        if self.request.max_seconds is not None:
            self._deadline_ms = quote.event_time_ms + self.request.max_seconds * 1000
        self.world.ticks.note(quote.symbol, quote.bid_price, quote.ask_price, quote.event_time_ms)  # a price to size by
        if self.request.kind == "trail_stop":
            await self._open_position()
        record = RunRecord(ALGO_RUN_ID, self.request.kind, SUB_ACCOUNT_ID, self.request.algo_parameters())
        self.world.runs[ALGO_RUN_ID] = record
        try:
            await self.world.engine.start({"algo_run_id": ALGO_RUN_ID}, record=record)
        except AppError as exc:
            raise BacktestError(exc.user_message) from None

    async def after_quote(self, quote: BookTicker) -> None:
        runner = self.world.engine.runners.get(ALGO_RUN_ID)
        if self.request.kind == "trail_stop" and self.decision_mid is None and runner is not None \
                and runner.outcome == "triggered":
            self.decision_mid = self._last_mid
        finished = runner is None or runner.outcome is not None
        late = self._deadline_ms is not None and quote.event_time_ms >= self._deadline_ms
        if self.started and ((finished and not self.request.keep_going) or late):
            assert self.replay is not None  # noqa: S101 - set before the replay runs
            self.replay.stop()

    async def _open_position(self) -> None:
        """The position a trail stop protects: a market order at the first quote, through the OrderManager."""
        side = Side(self.request.side)
        result = await self.world.manager.place(OrderIntent(SUB_ACCOUNT_ID, self.request.symbol, side,
                                                            OrderType.MARKET, self.request.quantity,
                                                            origin=OrderOrigin.MKT))
        if not result.ok:
            raise BacktestError(f"could not open the position the trail stop protects: {result.reason}")
        self.entry_client_order_id = result.client_order_id
        await self.world.pump()

    async def finish(self) -> None:
        """At the end of the data an algo still running is stopped, as an operator would."""
        engine = self.world.engine
        runner = engine.runners.get(ALGO_RUN_ID)
        if runner is not None and runner.outcome is None:
            await runner.stop("end of the data")
        if runner is not None:
            await engine.tick()  # reaps the finished runner and records its outcome
        await self.world.pump()

    def outcome(self) -> str:
        if not self.started:
            return "never started: no quote for the symbol"
        status = self.world.run_status.get(ALGO_RUN_ID)
        if status is None:
            return "running"
        return str(status[1].get("outcome") or status[0])
