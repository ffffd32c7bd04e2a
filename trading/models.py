"""Trading records: sub-accounts, instruments, orders, fills, positions, ledger, algo runs, audit."""

from __future__ import annotations

import secrets
import string
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.money import ZERO
from trading.domain.instruments import InstrumentRules
from trading.domain.orders import OrderState, OrderStatus
from trading.domain.positions import Position


def money_field(**kwargs: object) -> models.DecimalField:
    """Every amount, price and quantity: 38 digits, 18 after the point (never float)."""
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(max_digits=38, decimal_places=18, **kwargs)  # type: ignore[arg-type]


def new_sub_account_code() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


class SubAccount(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        FROZEN = "frozen"  # may not open orders; fills and reconciliation still book
        CLOSED = "closed"

    name = models.CharField(max_length=64, unique=True)
    code = models.CharField(max_length=8, unique=True, default=new_sub_account_code, editable=False,
                            help_text="8 characters carried in every client order id to route fills")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    is_house = models.BooleanField(default=False, help_text="owns exchange activity nobody here placed")
    operators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="sub_accounts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[a-z0-9]{8}$"), name="sub_account_code_format"),
            models.UniqueConstraint(fields=["is_house"], condition=Q(is_house=True), name="one_house_sub_account"),
        ]

    def __str__(self) -> str:
        return self.name


class Instrument(models.Model):
    class Status(models.TextChoices):
        TRADING = "trading"
        HALTED = "halted"

    symbol = models.CharField(max_length=32, unique=True)
    base_asset = models.CharField(max_length=16)
    quote_asset = models.CharField(max_length=16, default="USDT")
    tick_size = money_field()
    step_size = money_field()
    min_qty = money_field()
    max_qty = money_field()
    min_notional = money_field()
    min_price = money_field()
    max_price = money_field()
    price_band_up = money_field(default=Decimal("1.05"))
    price_band_down = money_field(default=Decimal("0.95"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRADING)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=Q(tick_size__gt=0) & Q(step_size__gt=0), name="instrument_increments"),
        ]

    def __str__(self) -> str:
        return self.symbol

    def to_domain(self) -> InstrumentRules:
        return InstrumentRules(
            symbol=self.symbol, tick_size=self.tick_size.normalize(), step_size=self.step_size.normalize(),
            min_qty=self.min_qty, max_qty=self.max_qty, min_notional=self.min_notional,
            min_price=self.min_price, max_price=self.max_price, price_band_up=self.price_band_up,
            price_band_down=self.price_band_down, base_asset=self.base_asset, quote_asset=self.quote_asset,
        )


class AlgoRun(models.Model):
    """One instance of an execution algo or strategy; its live state lives in Redis, its record here."""

    class Kind(models.TextChoices):
        CHASE = "chase"
        SCALPER = "scalper"
        TWAP = "twap"
        BASKET = "basket"
        TRAIL_STOP = "trail_stop"
        STRATEGY = "strategy"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        PAUSED = "paused"
        COMPLETED = "completed"
        CANCELLED = "cancelled"
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    sub_account = models.ForeignKey(SubAccount, on_delete=models.PROTECT, related_name="algo_runs")
    parameters = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Side(models.TextChoices):
    BUY = "buy"
    SELL = "sell"


class Order(models.Model):
    class Type(models.TextChoices):
        LIMIT = "limit"
        MARKET = "market"

    class TimeInForce(models.TextChoices):
        GTC = "GTC"
        IOC = "IOC"
        FOK = "FOK"
        GTX = "GTX", "GTX (post-only)"

    client_order_id = models.CharField(max_length=36, unique=True)
    exchange_order_id = models.CharField(max_length=32, null=True, blank=True, db_index=True)
    sub_account = models.ForeignKey(SubAccount, on_delete=models.PROTECT, related_name="orders")
    symbol = models.CharField(max_length=32, db_index=True)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=8, choices=Type.choices)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices, null=True, blank=True)
    price = money_field(null=True, blank=True, default=None)
    quantity = money_field()
    filled_quantity = money_field()
    average_price = money_field(null=True, blank=True, default=None)
    status = models.CharField(max_length=16, choices=[(s.value, s.value) for s in OrderStatus],
                              default=OrderStatus.PENDING_SUBMIT.value)
    reduce_only = models.BooleanField(default=False)
    origin = models.CharField(max_length=3, help_text="client id TYPE code: MKT, LMT, CHS, SCL, TWP, TRS, STR, RCN")
    algo_run = models.ForeignKey(AlgoRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders")
    reject_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["sub_account", "status"]), models.Index(fields=["status", "updated_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(condition=Q(filled_quantity__gte=0) & Q(filled_quantity__lte=F("quantity")),
                                   name="order_filled_within_quantity"),
        ]

    def __str__(self) -> str:
        return self.client_order_id

    def to_domain(self) -> OrderState:
        return OrderState(OrderStatus(self.status), self.quantity, self.filled_quantity, self.average_price)


class Fill(models.Model):
    # Unique and plain indexes are declared in Meta: a field-level one would add a LIKE index per column,
    # and every index costs on the fill-booking hot path.
    trade_key = models.CharField(max_length=80, help_text="SYMBOL:tradeId from the exchange, or a deterministic "
                                 "synthetic key")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="fills")
    client_order_id = models.CharField(max_length=64, blank=True)
    sub_account = models.ForeignKey(SubAccount, on_delete=models.PROTECT, related_name="fills", db_index=False)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4, choices=Side.choices)
    price = money_field()
    quantity = money_field()
    fee = money_field()
    fee_asset = models.CharField(max_length=16, default="USDT")
    is_maker = models.BooleanField(default=False)
    realized_pnl = money_field(help_text="gross of the fee, from this sub-account's average cost")
    executed_at = models.DateTimeField()
    is_synthetic = models.BooleanField(default=False, help_text="made by reconciliation, not reported by the exchange")
    booked_at = models.DateTimeField()

    class Meta:
        ordering = ["-executed_at"]
        indexes = [models.Index(fields=["sub_account", "symbol", "executed_at"]),
                   models.Index(fields=["sub_account", "executed_at"], name="fill_sub_account_recent"),  # pages
                   models.Index(fields=["client_order_id"], name="fill_client_order_id")]
        constraints = [
            models.UniqueConstraint(fields=["trade_key"], name="fill_trade_key_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0) & Q(price__gt=0), name="fill_positive"),
        ]

    def __str__(self) -> str:
        return self.trade_key


class VirtualPosition(models.Model):
    sub_account = models.ForeignKey(SubAccount, on_delete=models.PROTECT, related_name="positions")
    symbol = models.CharField(max_length=32)
    quantity = money_field(help_text="signed: long > 0")
    average_entry = money_field()
    realized_pnl = money_field(help_text="gross of fees")
    fees = money_field()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["sub_account", "symbol"]
        constraints = [models.UniqueConstraint(fields=["sub_account", "symbol"], name="one_position_per_symbol")]

    def __str__(self) -> str:
        return f"{self.sub_account_id}:{self.symbol} {self.quantity}"

    def to_domain(self) -> Position:
        return Position(self.symbol, self.quantity, self.average_entry, self.realized_pnl, self.fees)


class ExchangePosition(models.Model):
    """The exchange's own view of the account's net position per symbol, as last fetched."""

    account = models.CharField(max_length=64, default="main")
    symbol = models.CharField(max_length=32)
    quantity = money_field()
    entry_price = money_field()
    mark_price = money_field()
    unrealized_pnl = money_field()
    snapshot_at = models.DateTimeField()

    class Meta:
        ordering = ["account", "symbol"]
        constraints = [models.UniqueConstraint(fields=["account", "symbol"], name="one_exchange_position")]

    def __str__(self) -> str:
        return f"{self.account}:{self.symbol} {self.quantity}"


class LedgerEntry(models.Model):
    """Every change to a sub-account's balance; the balance is their sum."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit"
        WITHDRAWAL = "withdrawal"
        FEE = "fee"
        REALIZED_PNL = "realized_pnl"
        FUNDING = "funding"
        ADJUSTMENT = "adjustment"

    sub_account = models.ForeignKey(SubAccount, on_delete=models.PROTECT, related_name="ledger", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = money_field(help_text="signed: credits > 0")
    asset = models.CharField(max_length=16, default="USDT")
    fill = models.ForeignKey(Fill, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries")
    reference = models.CharField(max_length=80, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["sub_account", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.asset}"


class AuditLog(models.Model):
    """Append-only record of every operator action (a database trigger refuses updates and deletes)."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    actor_label = models.CharField(max_length=150, help_text="username or system component, kept if the user goes")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    result = models.CharField(max_length=255)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_type}:{self.target_id}"


class EngineCommand(models.Model):
    """A request from web, API or CLI to the engine: durable, idempotent by id, answered on the row."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True)
    kind = models.CharField(max_length=32)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    actor_label = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} {self.status}"


class ReconciliationLog(models.Model):
    """One reconciliation run: when, what was compared with the exchange, what was found, what was done."""

    class Kind(models.TextChoices):
        POSITION_SYNC = "position_sync"
        ORDER_SYNC = "order_sync"
        ORPHAN_SWEEP = "orphan_sweep"
        GAP_RECOVERY = "gap_recovery"

    class Outcome(models.TextChoices):
        MATCHED = "matched", "matched (nothing to do)"
        TOLERATED = "tolerated", "tolerated (in flight)"
        ACTED = "acted"
        SKIPPED = "skipped", "skipped (locked or debounced)"
        FAILED = "failed"

    account = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    compared = models.JSONField(default=dict, blank=True, help_text="what was compared (counts, symbols)")
    found = models.JSONField(default=list, blank=True, help_text="differences found")
    actions = models.JSONField(default=list, blank=True, help_text="what was done about them")
    alerts = models.JSONField(default=list, blank=True, help_text="what operators were alerted of (kind, message)")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["kind", "started_at"]), models.Index(fields=["outcome", "started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.account} {self.outcome}"
