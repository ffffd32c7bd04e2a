"""One synchronous Redis client (and its connection pool) per URL and timeout, shared by the process.

A client made per call opens a new connection per call, about a millisecond each on loopback: the pages' and
the API's reads of the price cache and the risk snapshots paid it on every render. redis-py's pool is
thread-safe and re-creates its connections after a fork.
"""

from __future__ import annotations

import threading

import redis

_clients: dict[tuple[str, float], redis.Redis] = {}
_lock = threading.Lock()


def redis_client(url: str, *, timeout: float = 0.5) -> redis.Redis:
    key = (url, timeout)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
                _clients[key] = client
    return client
