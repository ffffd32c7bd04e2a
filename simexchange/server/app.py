"""The aiohttp application: Binance REST routes, websocket routes, /_sim control routes, a 404 catch-all."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from simexchange.server.context import ServerContext
from simexchange.server.control import ControlViews
from simexchange.server.feed import MarketFeed
from simexchange.server.http import Endpoint, endpoint_view, not_found_view
from simexchange.server.rest_account import ACCOUNT_ENDPOINTS
from simexchange.server.rest_algo import ALGO_ENDPOINTS
from simexchange.server.rest_market import MARKET_ENDPOINTS
from simexchange.server.rest_orders import ORDER_ENDPOINTS
from simexchange.server.ws import ws_routes

ENDPOINTS: tuple[Endpoint, ...] = (*MARKET_ENDPOINTS, *ORDER_ENDPOINTS, *ACCOUNT_ENDPOINTS, *ALGO_ENDPOINTS)
MAX_BODY_BYTES = 1024 * 1024


def build_app(ctx: ServerContext, feed: Callable[[], MarketFeed | None]) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.add_routes([web.route(e.method, e.path, endpoint_view(ctx, e)) for e in ENDPOINTS])
    app.add_routes(ws_routes(ctx))
    app.add_routes(ControlViews(ctx, feed).routes())
    app.router.add_route("*", "/{tail:.*}", not_found_view(ctx))
    return app
