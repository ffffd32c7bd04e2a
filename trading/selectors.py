"""Reads of trading state."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from core.money import ZERO
from trading.domain.positions import Position
from trading.models import LedgerEntry, VirtualPosition


def subaccount_balance(*, sub_account_id: int, asset: str = "USDT") -> Decimal:
    """Wallet balance: the sum of the ledger (deposits, withdrawals, realized PnL, fees, funding)."""
    total = LedgerEntry.objects.filter(sub_account_id=sub_account_id, asset=asset).aggregate(total=Sum("amount"))
    return total["total"] or ZERO


def position_list(*, sub_account_id: int, include_flat: bool = False) -> list[Position]:
    rows = VirtualPosition.objects.filter(sub_account_id=sub_account_id)
    if not include_flat:
        rows = rows.exclude(quantity=0)
    return [row.to_domain() for row in rows]


def net_virtual_positions(*, symbol: str | None = None) -> dict[str, Decimal]:
    """Σ of every sub-account's signed quantity per symbol: what the exchange should hold."""
    rows = VirtualPosition.objects.all()
    if symbol is not None:
        rows = rows.filter(symbol=symbol)
    totals = rows.values("symbol").annotate(total=Sum("quantity"))
    return {row["symbol"]: row["total"] for row in totals}


def cached_reference_price(*, symbol: str, redis_url: str | None = None) -> Decimal | None:
    """The feed's last price for a symbol (mark, else mid) from the Redis price cache; None if unknown or down.

    For validating requests on the web side, which never asks the exchange itself.
    """
    import redis

    from trading.marketdata.codec import l1_from_hash
    from trading.marketdata.redis_bus import Keys

    try:
        client = redis.Redis.from_url(redis_url or settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
        fields = client.hgetall(Keys().price(symbol))
    except (redis.RedisError, OSError):
        return None
    if not fields:
        return None
    l1 = l1_from_hash(symbol, fields)
    if l1 is None:
        return None
    if l1.mark is not None:
        return l1.mark.mark_price
    return l1.mid
