"""listenKey lifecycle: one active key per account, valid 60 minutes from its last keep-alive."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

LISTEN_KEY_TTL_MS = 60 * 60 * 1000


@dataclass(slots=True)
class ListenKey:
    key: str
    account_id: int
    expires_ms: int


class ListenKeyRegistry:
    """POST returns the active key (extending it) or a new one; PUT extends; DELETE closes."""

    def __init__(self, ttl_ms: int = LISTEN_KEY_TTL_MS) -> None:
        self.ttl_ms = ttl_ms
        self._by_account: dict[int, ListenKey] = {}
        self._by_key: dict[str, ListenKey] = {}

    def create(self, account_id: int, now_ms: int) -> ListenKey:
        current = self.active_for(account_id, now_ms)
        if current is not None:
            current.expires_ms = now_ms + self.ttl_ms
            return current
        self._discard(account_id)
        entry = ListenKey(key=secrets.token_urlsafe(48)[:64], account_id=account_id, expires_ms=now_ms + self.ttl_ms)
        self._by_account[account_id] = entry
        self._by_key[entry.key] = entry
        return entry

    def keep_alive(self, account_id: int, key: str | None, now_ms: int) -> ListenKey | None:
        """Extend the account's active key; None (-1125) when there is none or `key` is another one."""
        current = self.active_for(account_id, now_ms)
        if current is None or (key is not None and key != current.key):
            return None
        current.expires_ms = now_ms + self.ttl_ms
        return current

    def close(self, account_id: int, key: str | None) -> ListenKey | None:
        current = self._by_account.get(account_id)
        if current is None or (key is not None and key != current.key):
            return None
        self._discard(account_id)
        return current

    def active_for(self, account_id: int, now_ms: int) -> ListenKey | None:
        entry = self._by_account.get(account_id)
        if entry is None or entry.expires_ms <= now_ms:
            return None
        return entry

    def lookup(self, key: str, now_ms: int) -> ListenKey | None:
        entry = self._by_key.get(key)
        if entry is None or entry.expires_ms <= now_ms:
            return None
        return entry

    def expire(self, account_id: int | None = None) -> list[ListenKey]:
        """Force expiry now (fault injection); returns the keys that were active."""
        targets = [e for e in self._by_account.values() if account_id is None or e.account_id == account_id]
        for entry in targets:
            self._discard(entry.account_id)
        return targets

    def pop_expired(self, now_ms: int) -> list[ListenKey]:
        expired = [e for e in self._by_account.values() if e.expires_ms <= now_ms]
        for entry in expired:
            self._discard(entry.account_id)
        return expired

    def _discard(self, account_id: int) -> None:
        entry = self._by_account.pop(account_id, None)
        if entry is not None:
            self._by_key.pop(entry.key, None)
