"""The Binance-compatible HTTP/websocket server of the simulated exchange (aiohttp, loopback only)."""

from simexchange.server.context import ServerConfig
from simexchange.server.faults import Fault
from simexchange.server.runner import SimExchange

__all__ = ["Fault", "ServerConfig", "SimExchange"]
