"""Request-weight limits per IP and order-rate limits per account, in Binance's fixed windows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simexchange.core import errors
from simexchange.core.config import RateLimitConfig

MINUTE_MS = 60_000
TEN_SECONDS_MS = 10_000


@dataclass(frozen=True, slots=True)
class UsedCounts:
    """What the X-MBX-USED-WEIGHT-1M, X-MBX-ORDER-COUNT-10S and X-MBX-ORDER-COUNT-1M headers report."""

    used_weight_1m: int
    order_count_10s: int
    order_count_1m: int

    def headers(self) -> dict[str, str]:
        """The three X-MBX-* headers as text."""
        return {
            "X-MBX-USED-WEIGHT-1M": str(self.used_weight_1m),
            "X-MBX-ORDER-COUNT-10S": str(self.order_count_10s),
            "X-MBX-ORDER-COUNT-1M": str(self.order_count_1m),
        }


class _Window:
    """A counter that resets at each multiple of `length_ms` (Binance counts in calendar windows)."""

    __slots__ = ("count", "length_ms", "start_ms")

    def __init__(self, length_ms: int) -> None:
        self.length_ms = length_ms
        self.start_ms = -1
        self.count = 0

    def current(self, now_ms: int) -> int:
        """The count in the window holding `now_ms` (a new window starts at zero)."""
        start = now_ms - now_ms % self.length_ms
        if start != self.start_ms:
            self.start_ms = start
            self.count = 0
        return self.count

    def seconds_left(self, now_ms: int) -> int:
        """Whole seconds until the window ends (at least 1), for Retry-After."""
        left_ms = self.start_ms + self.length_ms - now_ms
        return max(1, -(-left_ms // 1000))


class _IpState:
    __slots__ = ("banned_until_ms", "violations", "weight")

    def __init__(self) -> None:
        self.weight = _Window(MINUTE_MS)
        self.violations = 0
        self.banned_until_ms = 0


class _AccountState:
    __slots__ = ("minute", "ten_seconds")

    def __init__(self) -> None:
        self.ten_seconds = _Window(TEN_SECONDS_MS)
        self.minute = _Window(MINUTE_MS)


class RateLimiter:
    """The server calls `charge_request` per request; the engine calls `charge_order` per new or modified order."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], int]) -> None:
        self.config = config
        self._clock = clock
        self._ips: dict[str, _IpState] = {}
        self._accounts: dict[int, _AccountState] = {}

    def charge_request(self, ip: str, weight: int) -> int:
        """Add `weight` to the IP's minute; return the used weight, or raise -1003 (429, then 418 when banned)."""
        now = self._clock()
        state = self._ips.get(ip)
        if state is None:
            state = self._ips[ip] = _IpState()
        if state.banned_until_ms > now:
            raise errors.ip_banned(state.banned_until_ms, -(-(state.banned_until_ms - now) // 1000))
        used = state.weight.current(now)
        limit = self.config.request_weight_per_minute
        if used + weight > limit:
            return self._reject_request(state, now, limit)
        state.violations = 0
        state.weight.count = used + weight
        return state.weight.count

    def _reject_request(self, state: _IpState, now: int, limit: int) -> int:
        state.violations += 1
        if state.violations > self.config.ban_after_violations:
            state.banned_until_ms = now + self.config.ban_seconds * 1000
            state.violations = 0
            raise errors.ip_banned(state.banned_until_ms, self.config.ban_seconds)
        raise errors.too_many_requests(limit, state.weight.seconds_left(now))

    def charge_order(self, account_id: int) -> None:
        """Count one new (or modified) order; raise -1015 without counting it if a window is full."""
        now = self._clock()
        state = self._accounts.get(account_id)
        if state is None:  # not setdefault: that would build a state (and two windows) on every order
            state = self._accounts[account_id] = _AccountState()
        in_10s = state.ten_seconds.current(now)
        in_1m = state.minute.current(now)
        if in_10s >= self.config.orders_per_10s:
            raise errors.too_many_orders(self.config.orders_per_10s, "TEN_SECONDS", state.ten_seconds.seconds_left(now))
        if in_1m >= self.config.orders_per_minute:
            raise errors.too_many_orders(self.config.orders_per_minute, "ONE_MINUTE", state.minute.seconds_left(now))
        state.ten_seconds.count = in_10s + 1
        state.minute.count = in_1m + 1

    def used(self, ip: str | None = None, account_id: int | None = None) -> UsedCounts:
        """Current counts for the response headers (zero for an unknown IP or account)."""
        now = self._clock()
        weight = 0
        if ip is not None and ip in self._ips:
            weight = self._ips[ip].weight.current(now)
        ten = minute = 0
        if account_id is not None and account_id in self._accounts:
            state = self._accounts[account_id]
            ten = state.ten_seconds.current(now)
            minute = state.minute.current(now)
        return UsedCounts(weight, ten, minute)
