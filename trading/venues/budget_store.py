"""Where the shared request budget keeps its counters: Redis (all processes) or memory (fallback)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol


class Window(Enum):
    """Binance's counters: calendar windows (a minute starts at :00), as the usage headers report them."""

    WEIGHT_1M = ("weight1m", 60_000)
    ORDERS_10S = ("orders10s", 10_000)
    ORDERS_1M = ("orders1m", 60_000)

    def __init__(self, key: str, length_ms: int) -> None:
        self.key = key
        self.length_ms = length_ms

    def start(self, now_ms: int) -> int:
        return now_ms - now_ms % self.length_ms

    def end(self, now_ms: int) -> int:
        return self.start(now_ms) + self.length_ms


@dataclass(frozen=True, slots=True)
class Charge:
    """Take `cost` from a window whose ceiling, for this caller's priority, is `limit`."""

    window: Window
    cost: int
    limit: int


@dataclass(frozen=True, slots=True)
class Block:
    """No request before `until_ms` (exchange time): Retry-After of a 429 or of a 418 ban."""

    until_ms: int
    kind: str  # "429" or "418"


@dataclass(frozen=True, slots=True)
class Verdict:
    granted: bool
    retry_at_ms: int = 0  # when asking again may succeed (window end or block end)
    block: Block | None = None


GRANTED = Verdict(granted=True)
TTL_GRACE_MS = 5_000  # keys outlive their window a little: clocks of processes differ slightly


class WindowStore(Protocol):
    async def take(self, now_ms: int, charges: Sequence[Charge]) -> Verdict: ...

    async def block(self, now_ms: int, block: Block) -> None: ...

    async def raise_used(self, now_ms: int, used: Sequence[tuple[Window, int]]) -> None: ...


def _better_block(current: Block | None, new: Block) -> bool:
    """Keep the later block; at the same end a ban outranks a 429."""
    if current is None or new.until_ms > current.until_ms:
        return True
    return new.until_ms == current.until_ms and new.kind == "418" and current.kind != "418"


class MemoryWindows:
    """One process's counters: the fallback while Redis is down, and the budget of a Redis-less process."""

    def __init__(self) -> None:
        self._counts: dict[tuple[Window, int], int] = {}
        self._block: Block | None = None

    def current_block(self, now_ms: int) -> Block | None:
        block = self._block
        return block if block is not None and block.until_ms > now_ms else None

    async def take(self, now_ms: int, charges: Sequence[Charge]) -> Verdict:
        block = self.current_block(now_ms)
        if block is not None:
            return Verdict(granted=False, retry_at_ms=block.until_ms, block=block)
        self._forget_old(now_ms)
        for charge in charges:
            used = self._counts.get((charge.window, charge.window.start(now_ms)), 0)
            if charge.cost > 0 and used > 0 and used + charge.cost > charge.limit:
                return Verdict(granted=False, retry_at_ms=charge.window.end(now_ms))
        for charge in charges:
            key = (charge.window, charge.window.start(now_ms))
            self._counts[key] = self._counts.get(key, 0) + charge.cost
        return GRANTED

    async def block(self, now_ms: int, block: Block) -> None:
        if _better_block(self.current_block(now_ms), block):
            self._block = block

    async def raise_used(self, now_ms: int, used: Sequence[tuple[Window, int]]) -> None:
        for window, reported in used:
            key = (window, window.start(now_ms))
            if reported > self._counts.get(key, 0):
                self._counts[key] = reported

    def used(self, window: Window, now_ms: int) -> int:
        return self._counts.get((window, window.start(now_ms)), 0)

    def _forget_old(self, now_ms: int) -> None:
        stale = [key for key in self._counts if key[1] + key[0].length_ms < now_ms]
        for key in stale:
            del self._counts[key]


# All checks and increments in one script: two processes can never both take the last token.
# KEYS[1] blocked_until, KEYS[2..n+1] window counters. ARGV: now, n, then (cost, limit, end) per window.
_TAKE_LUA = """
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local blocked = redis.call('GET', KEYS[1])
if blocked then
  local sep = string.find(blocked, ':', 1, true)
  local until_ms = tonumber(string.sub(blocked, 1, sep - 1))
  if until_ms > now then return {1, until_ms, string.sub(blocked, sep + 1)} end
end
for i = 1, n do
  local cost = tonumber(ARGV[3 * i])
  if cost > 0 then
    local used = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
    if used > 0 and used + cost > tonumber(ARGV[3 * i + 1]) then return {2, tonumber(ARGV[3 * i + 2]), ''} end
  end
end
for i = 1, n do
  local cost = tonumber(ARGV[3 * i])
  if cost > 0 then
    redis.call('INCRBY', KEYS[i + 1], cost)
    redis.call('PEXPIRE', KEYS[i + 1], tonumber(ARGV[3 * i + 2]) - now + tonumber(ARGV[3 * n + 3]))
  end
end
return {0, 0, ''}
"""

# KEYS[1] blocked_until. ARGV: until_ms, kind, ttl_ms. The later block wins; a ban outranks a 429.
_BLOCK_LUA = """
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, ':', 1, true)
  local until_ms = tonumber(string.sub(current, 1, sep - 1))
  local kind = string.sub(current, sep + 1)
  local new_until = tonumber(ARGV[1])
  if until_ms > new_until or (until_ms == new_until and (kind == '418' or ARGV[2] == '429')) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
"""

# KEYS: counters. ARGV: (reported, ttl_ms) per key. The exchange's count only ever raises ours: other
# processes' requests still in flight are in our counter and not yet in the header.
_RAISE_LUA = """
for i = 1, #KEYS do
  local reported = tonumber(ARGV[2 * i - 1])
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if reported > used then redis.call('SET', KEYS[i], reported, 'PX', ARGV[2 * i]) end
end
return 0
"""


class RedisWindows:
    """The account's counters in Redis, keyed `pms:budget:{account}:{window}:{start}`, shared by every process."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self._prefix = prefix
        self._take = redis.register_script(_TAKE_LUA)
        self._block = redis.register_script(_BLOCK_LUA)
        self._raise = redis.register_script(_RAISE_LUA)

    @property
    def blocked_key(self) -> str:
        return f"{self._prefix}:blocked_until"

    def window_key(self, window: Window, now_ms: int) -> str:
        return f"{self._prefix}:{window.key}:{window.start(now_ms)}"

    async def take(self, now_ms: int, charges: Sequence[Charge]) -> Verdict:
        keys = [self.blocked_key] + [self.window_key(c.window, now_ms) for c in charges]
        args: list[int] = [now_ms, len(charges)]
        for charge in charges:
            args += [charge.cost, charge.limit, charge.window.end(now_ms)]
        args.append(TTL_GRACE_MS)
        status, retry_at, kind = await self._take(keys=keys, args=args)
        if int(status) == 0:
            return GRANTED
        kind_text = kind.decode() if isinstance(kind, bytes) else str(kind)
        block = Block(until_ms=int(retry_at), kind=kind_text) if int(status) == 1 else None
        return Verdict(granted=False, retry_at_ms=int(retry_at), block=block)

    async def block(self, now_ms: int, block: Block) -> None:
        ttl_ms = max(1, block.until_ms - now_ms) + TTL_GRACE_MS
        await self._block(keys=[self.blocked_key], args=[block.until_ms, block.kind, ttl_ms])

    async def raise_used(self, now_ms: int, used: Sequence[tuple[Window, int]]) -> None:
        if not used:
            return
        keys = [self.window_key(window, now_ms) for window, _ in used]
        args: list[int] = []
        for window, reported in used:
            args += [reported, window.end(now_ms) - now_ms + TTL_GRACE_MS]
        await self._raise(keys=keys, args=args)
