"""`python -m simexchange`: run the simulated Binance USD-M exchange on 127.0.0.1 and print the ccxt config.

    python -m simexchange --port 8900 --symbols BTCUSDT,ETHUSDT,SOLUSDT --source synthetic --speed 1 --seed 1 \
        --api-key demo --secret demo --balance 100000

The first line on stdout is the JSON config for `ccxt.pro.binanceusdm(...)` (call
`simexchange.ccxt_config.copy_linear_error_map(exchange)` on the instance too). Ctrl-C or SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import secrets
import signal
import sys
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from simexchange.core import RateLimitConfig
from simexchange.server import ServerConfig, SimExchange
from simexchange.sources import parse_speed


def _symbols(text: str) -> tuple[str, ...]:
    symbols = tuple(s.strip().upper() for s in text.split(",") if s.strip())
    if not symbols:
        raise argparse.ArgumentTypeError("give at least one symbol")
    return symbols


def _speed(text: str) -> str:
    try:
        parse_speed(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def _balance(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise argparse.ArgumentTypeError(f"not a decimal: {text}") from exc
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError("balance must be a non-negative number")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simexchange", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--symbols", type=_symbols, default=("BTCUSDT", "ETHUSDT", "SOLUSDT"))
    parser.add_argument("--source", default="synthetic", help="synthetic, or PATH[,PATH...] of captures/CSVs")
    parser.add_argument("--speed", type=_speed, default="1", help="1 (real time), N (N times faster) or max")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-key", default=None, help="default: a random key, printed in the config")
    parser.add_argument("--secret", default=None, help="default: a random secret, printed in the config")
    parser.add_argument("--balance", type=_balance, default=Decimal("100000"), help="USDT deposited on the account")
    limits = RateLimitConfig()
    parser.add_argument("--weight-per-minute", type=int, default=limits.request_weight_per_minute)
    parser.add_argument("--orders-per-10s", type=int, default=limits.orders_per_10s)
    parser.add_argument("--orders-per-minute", type=int, default=limits.orders_per_minute)
    parser.add_argument("--trace", action="store_true",
                        help="record latency timestamps of bookTickers and order requests (GET /_sim/trace)")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        port=args.port,
        symbols=args.symbols,
        source=args.source,
        speed=args.speed,
        seed=args.seed,
        api_key=args.api_key or secrets.token_hex(16),
        secret=args.secret or secrets.token_hex(32),
        balance=args.balance,
        trace=args.trace,
        rate_limits=RateLimitConfig(
            request_weight_per_minute=args.weight_per_minute,
            orders_per_10s=args.orders_per_10s,
            orders_per_minute=args.orders_per_minute,
        ),
    )


async def serve(config: ServerConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with SimExchange(config) as sim:
        print(json.dumps(sim.ccxt_config()), flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    try:
        config = config_from_args(args)
        asyncio.run(serve(config))
    except (ValueError, OSError) as exc:
        print(f"simexchange: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
