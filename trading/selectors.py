"""Reads of trading state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from core.errors import NotFound
from core.money import ZERO
from trading.domain.orders import OrderStatus
from trading.domain.positions import Position
from trading.models import AlgoRun, Fill, LedgerEntry, Order, SubAccount, VirtualPosition
from trading.redis_clients import redis_client

if TYPE_CHECKING:
    from trading.marketdata.cache import L1


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
        client = redis_client(redis_url or settings.REDIS_URL)
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


# -- reads for the dashboard and the API (scoped to the caller's grants) ----------------------------------


def subaccount_list_visible(*, user: Any) -> QuerySet[SubAccount]:
    """The sub-accounts granted to this user (SubAccount.operators); nothing for anyone else."""
    if not getattr(user, "is_authenticated", False):
        return SubAccount.objects.none()
    return SubAccount.objects.filter(operators=user).order_by("name")


def subaccount_get_visible(*, user: Any, sub_account_id: int) -> SubAccount:
    """The sub-account if granted to this user; NotFound otherwise, so its existence is not revealed."""
    sub_account = subaccount_list_visible(user=user).filter(pk=sub_account_id).first()
    if sub_account is None:
        raise NotFound(f"sub-account {sub_account_id} does not exist")
    return sub_account


def market_l1_many(*, symbols: Iterable[str], redis_url: str | None = None) -> dict[str, L1]:
    """The feed's cached L1 of each symbol that has one; empty while Redis is down (pages show stale)."""
    import redis

    from trading.marketdata.codec import CodecError, l1_from_hash
    from trading.marketdata.redis_bus import Keys

    wanted = sorted(set(symbols))
    if not wanted:
        return {}
    keys = Keys()
    try:
        client = redis_client(redis_url or settings.REDIS_URL)
        pipe = client.pipeline(transaction=False)
        for symbol in wanted:
            pipe.hgetall(keys.price(symbol))
        hashes = pipe.execute()
    except (redis.RedisError, OSError):
        return {}
    found: dict[str, L1] = {}
    for symbol, fields in zip(wanted, hashes, strict=True):
        try:
            l1 = l1_from_hash(symbol, fields) if fields else None
        except CodecError:
            l1 = None
        if l1 is not None:
            found[symbol] = l1
    return found


def market_history(*, symbol: str, redis_url: str | None = None) -> list[tuple[int, Decimal]]:
    """The feed's recent prices of a symbol (time ms, mid), oldest first; empty while Redis is down."""
    import redis

    from trading.marketdata.redis_bus import Keys, history_parse

    try:
        raw = redis_client(redis_url or settings.REDIS_URL).lrange(Keys().history(symbol), 0, -1)
    except (redis.RedisError, OSError):
        return []
    return history_parse(raw)


def _mark_of(l1: L1 | None) -> Decimal | None:
    if l1 is None:
        return None
    return l1.mark_price if l1.mark_price is not None else l1.mid


@dataclass(frozen=True)
class PositionView:
    symbol: str
    quantity: Decimal
    average_entry: Decimal
    mark_price: Decimal | None
    unrealized_pnl: Decimal | None
    realized_pnl: Decimal
    fees: Decimal
    notional: Decimal | None


@dataclass(frozen=True)
class SubAccountOverview:
    id: int
    name: str
    status: str
    trading_state: str
    balance: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    equity: Decimal
    notional: Decimal
    margin_ratio: Decimal | None
    positions: tuple[PositionView, ...]
    prices_missing: tuple[str, ...]


# Until the risk engine publishes its own state, a sub-account's status says what it may do.
TRADING_STATE = {SubAccount.Status.ACTIVE: "ACTIVE", SubAccount.Status.FROZEN: "REDUCING",
                 SubAccount.Status.CLOSED: "HALTED"}


def _position_view(row: VirtualPosition, l1s: dict[str, L1]) -> PositionView:
    mark = _mark_of(l1s.get(row.symbol))
    return PositionView(
        symbol=row.symbol, quantity=row.quantity, average_entry=row.average_entry, mark_price=mark,
        unrealized_pnl=None if mark is None else (mark - row.average_entry) * row.quantity,
        realized_pnl=row.realized_pnl, fees=row.fees, notional=None if mark is None else abs(row.quantity) * mark)


def position_views(*, sub_account_id: int, l1s: dict[str, L1] | None = None) -> list[PositionView]:
    """Open positions with the cached mark, unrealized PnL and notional (None when no price is cached)."""
    rows = list(VirtualPosition.objects.filter(sub_account_id=sub_account_id).exclude(quantity=0).order_by("symbol"))
    if l1s is None:
        l1s = market_l1_many(symbols=[row.symbol for row in rows])
    return [_position_view(row, l1s) for row in rows]


def _overview(sub_account: SubAccount, positions: list[PositionView], balance: Decimal,
              realized: Decimal) -> SubAccountOverview:
    unrealized = sum((p.unrealized_pnl for p in positions if p.unrealized_pnl is not None), ZERO)
    notional = sum((p.notional for p in positions if p.notional is not None), ZERO)
    equity = balance + unrealized
    return SubAccountOverview(
        id=sub_account.pk, name=sub_account.name, status=sub_account.status,
        trading_state=TRADING_STATE.get(SubAccount.Status(sub_account.status), "HALTED"), balance=balance,
        unrealized_pnl=unrealized, realized_pnl=realized, equity=equity, notional=notional,
        margin_ratio=(notional / equity) if equity > 0 else None, positions=tuple(positions),
        prices_missing=tuple(p.symbol for p in positions if p.mark_price is None))


def subaccount_overview(*, sub_account: SubAccount, l1s: dict[str, L1] | None = None) -> SubAccountOverview:
    """Equity = ledger balance + unrealized PnL at the cached marks; margin ratio = notional / equity."""
    positions = position_views(sub_account_id=sub_account.pk, l1s=l1s)
    realized = VirtualPosition.objects.filter(sub_account_id=sub_account.pk).aggregate(
        total=Sum("realized_pnl"))["total"] or ZERO
    return _overview(sub_account, positions, subaccount_balance(sub_account_id=sub_account.pk), realized)


def subaccount_overview_list(*, user: Any) -> list[SubAccountOverview]:
    """Every visible sub-account's overview in four queries, however many sub-accounts (the desk page)."""
    sub_accounts = list(subaccount_list_visible(user=user))
    ids = [sub_account.pk for sub_account in sub_accounts]
    rows = list(VirtualPosition.objects.filter(sub_account_id__in=ids).order_by("symbol"))
    l1s = market_l1_many(symbols={row.symbol for row in rows if row.quantity != 0})
    open_by_sub: dict[int, list[PositionView]] = {}
    realized: dict[int, Decimal] = {}
    for row in rows:
        realized[row.sub_account_id] = realized.get(row.sub_account_id, ZERO) + row.realized_pnl
        if row.quantity != 0:
            open_by_sub.setdefault(row.sub_account_id, []).append(_position_view(row, l1s))
    balances = dict(LedgerEntry.objects.filter(sub_account_id__in=ids, asset="USDT").values(
        "sub_account_id").annotate(total=Sum("amount")).values_list("sub_account_id", "total"))
    return [_overview(sub_account, open_by_sub.get(sub_account.pk, []), balances.get(sub_account.pk) or ZERO,
                      realized.get(sub_account.pk, ZERO)) for sub_account in sub_accounts]


def order_list(*, sub_account_id: int, status: str | None = None, symbol: str | None = None,
               open_only: bool = False) -> QuerySet[Order]:
    rows = Order.objects.filter(sub_account_id=sub_account_id)
    if status:
        rows = rows.filter(status=status)
    if symbol:
        rows = rows.filter(symbol=symbol.upper())
    if open_only:
        rows = rows.filter(status__in=[s.value for s in OrderStatus if not s.is_terminal])
    return rows.order_by("-created_at", "-id")


def fill_list(*, sub_account_id: int, symbol: str | None = None) -> QuerySet[Fill]:
    rows = Fill.objects.filter(sub_account_id=sub_account_id)
    if symbol:
        rows = rows.filter(symbol=symbol.upper())
    return rows.order_by("-executed_at", "-id")


def ledger_list(*, sub_account_id: int, kind: str | None = None) -> QuerySet[LedgerEntry]:
    rows = LedgerEntry.objects.filter(sub_account_id=sub_account_id)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-created_at", "-id")


def algo_run_list(*, sub_account_ids: Iterable[int], status: str | None = None,
                  active_only: bool = False) -> QuerySet[AlgoRun]:
    rows = AlgoRun.objects.filter(sub_account_id__in=list(sub_account_ids)).select_related("sub_account")
    if status:
        rows = rows.filter(status=status)
    if active_only:
        rows = rows.filter(status__in=[AlgoRun.Status.PENDING, AlgoRun.Status.RUNNING, AlgoRun.Status.PAUSED])
    return rows.annotate(filled_quantity=Coalesce(Sum("orders__filled_quantity"), Value(ZERO))).order_by(
        "-created_at", "-id")


def equity_curve(*, sub_account_id: int, points: int = 200) -> list[tuple[datetime, Decimal]]:
    """Ledger balance after each entry (realized: deposits, PnL, fees), the last `points` of them, oldest first.
    Reads only those entries and the total: a sub-account that trades all day has tens of thousands."""
    entries = LedgerEntry.objects.filter(sub_account_id=sub_account_id)
    last = list(entries.order_by("-created_at", "-id").values_list("created_at", "amount")[:points])
    running = (entries.aggregate(total=Sum("amount"))["total"] or ZERO) - sum((a for _, a in last), ZERO)
    curve = []
    for created_at, amount in reversed(last):
        running += amount
        curve.append((created_at, running))
    return curve


def engine_status_read(*, redis_url: str | None = None, now_ms: int) -> dict[str, Any]:
    """The engine's last heartbeat: status running / paused / stale (no heartbeat) / unknown (Redis down)."""
    import json

    import redis

    from trading.services.health import HEARTBEAT_KEY

    try:
        client = redis_client(redis_url or settings.REDIS_URL)
        raw = client.get(HEARTBEAT_KEY)
    except (redis.RedisError, OSError):
        return {"status": "unknown", "reason": "Redis is unreachable", "heartbeat_age_ms": None}
    if raw is None:
        return {"status": "stale", "reason": "no engine heartbeat", "heartbeat_age_ms": None}
    state = json.loads(raw)
    ts = state.get("ts")
    return {"status": state.get("status", "unknown"), "reason": state.get("paused_reason") or "",
            "live_orders": state.get("live_orders"), "heartbeat_age_ms": now_ms - ts if isinstance(ts, int) else None}
