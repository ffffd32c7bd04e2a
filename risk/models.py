"""Risk records: limits per sub-account and for the desk, trading states per scope, breaches, ADL actions."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from risk.domain.limits import GlobalLimits, SubAccountLimits, global_limit_errors, limit_errors
from risk.domain.margin import Bracket
from risk.domain.states import Scope, ScopeKind, ScopeState, TradingState
from trading.models import Instrument, SubAccount


def limit_field(help_text: str) -> models.DecimalField:
    return models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True, help_text=help_text)


def known_symbols() -> set[str]:
    return set(Instrument.objects.values_list("symbol", flat=True))


class RiskLimit(models.Model):
    """One sub-account's limits; an empty field means no limit."""

    sub_account = models.OneToOneField(SubAccount, on_delete=models.CASCADE, related_name="risk_limit")
    max_position_notional = limit_field("USDT per symbol, counting working orders")
    max_total_notional = limit_field("USDT over every symbol")
    max_leverage = limit_field("total notional / margin balance")
    max_open_orders = models.PositiveIntegerField(null=True, blank=True)
    max_orders_per_minute = models.PositiveIntegerField(null=True, blank=True,
                                                        help_text="beyond it the sub-account is halted")
    max_order_notional = limit_field("USDT per order")
    max_daily_loss = limit_field("USDT below the day's opening equity: trips to reducing")
    max_drawdown_pct = limit_field("% below the equity peak: trips to reducing")
    rapid_drawdown_pct = limit_field("% fall within 10 minutes: halts")
    allowed_symbols = models.JSONField(default=list, blank=True, help_text='e.g. ["BTCUSDT", "ETHUSDT"]; '
                                       "empty allows every symbol")
    price_band_pct = limit_field("a limit price within ± this % of the mark")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(name="risk_limit_amounts_positive", condition=(
                Q(max_position_notional__isnull=True) | Q(max_position_notional__gt=0))
                & (Q(max_total_notional__isnull=True) | Q(max_total_notional__gt=0))
                & (Q(max_order_notional__isnull=True) | Q(max_order_notional__gt=0))
                & (Q(max_daily_loss__isnull=True) | Q(max_daily_loss__gt=0))
                & (Q(max_leverage__isnull=True) | Q(max_leverage__gt=0))),
            models.CheckConstraint(name="risk_limit_price_band_range", condition=(
                Q(price_band_pct__isnull=True) | (Q(price_band_pct__gt=0) & Q(price_band_pct__lte=50)))),
        ]

    def __str__(self) -> str:
        return f"limits of {self.sub_account}"

    def to_domain(self) -> SubAccountLimits:
        return SubAccountLimits(
            max_position_notional=self.max_position_notional, max_total_notional=self.max_total_notional,
            max_leverage=self.max_leverage, max_open_orders=self.max_open_orders,
            max_orders_per_minute=self.max_orders_per_minute, max_order_notional=self.max_order_notional,
            max_daily_loss=self.max_daily_loss, max_drawdown_pct=self.max_drawdown_pct,
            rapid_drawdown_pct=self.rapid_drawdown_pct, allowed_symbols=frozenset(self.allowed_symbols or ()),
            price_band_pct=self.price_band_pct)

    def clean(self) -> None:
        symbols = self.allowed_symbols
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise ValidationError({"allowed_symbols": 'a list of symbols, e.g. ["BTCUSDT"]'})
        self.allowed_symbols = sorted({s.strip().upper() for s in symbols if s.strip()})
        errors = limit_errors(self.to_domain(), known_symbols=known_symbols())
        if errors:
            raise ValidationError(errors)


class GlobalRiskLimit(models.Model):
    """The desk's limits across sub-accounts (one row)."""

    name = models.CharField(max_length=32, unique=True, default="desk")
    max_symbol_net_notional = limit_field("USDT of |Σ sub-account quantities| per symbol")
    max_total_notional = limit_field("USDT over every sub-account and symbol")
    per_symbol_net_notional = models.JSONField(default=dict, blank=True,
                                               help_text='per-symbol overrides, e.g. {"BTCUSDT": "2000000"}')
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"global limits ({self.name})"

    def to_domain(self) -> GlobalLimits:
        return GlobalLimits(max_symbol_net_notional=self.max_symbol_net_notional,
                            max_total_notional=self.max_total_notional,
                            per_symbol_net_notional={s: Decimal(str(v)) for s, v in
                                                     (self.per_symbol_net_notional or {}).items()})

    def clean(self) -> None:
        raw = self.per_symbol_net_notional
        if not isinstance(raw, dict):
            raise ValidationError({"per_symbol_net_notional": 'an object of symbol: amount, e.g. {"BTCUSDT": "1e6"}'})
        try:
            limits = self.to_domain()
        except (InvalidOperation, ValueError, TypeError):
            raise ValidationError({"per_symbol_net_notional": "every amount must be a number"}) from None
        errors = global_limit_errors(limits, known_symbols=known_symbols())
        if errors:
            raise ValidationError(errors)


class ScopeKindChoice(models.TextChoices):
    GLOBAL = ScopeKind.GLOBAL.value
    SUB_ACCOUNT = ScopeKind.SUB_ACCOUNT.value
    ALGO = ScopeKind.ALGO.value


class TradingStateChoice(models.TextChoices):
    ACTIVE = TradingState.ACTIVE.value
    REDUCING = TradingState.REDUCING.value
    HALTED = TradingState.HALTED.value


class TradingStateRecord(models.Model):
    """The current trading state of one scope (global, a sub-account, an algo run), who set it and why."""

    scope_kind = models.CharField(max_length=16, choices=ScopeKindChoice.choices)
    scope_key = models.BigIntegerField(default=0, help_text="sub-account or algo run id; 0 for global")
    state = models.CharField(max_length=16, choices=TradingStateChoice.choices, default=TradingStateChoice.ACTIVE)
    trigger = models.CharField(max_length=32, blank=True, help_text="manual, daily_loss, order_rate, …")
    reason = models.TextField(blank=True)
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["scope_kind", "scope_key"]
        constraints = [models.UniqueConstraint(fields=["scope_kind", "scope_key"], name="one_state_per_scope")]

    def __str__(self) -> str:
        return f"{self.scope_kind}:{self.scope_key} {self.state}"

    def to_domain(self) -> ScopeState:
        return ScopeState(Scope(ScopeKind(self.scope_kind), self.scope_key), TradingState(self.state), self.reason)


class BreachRecord(models.Model):
    """A limit breach or breaker trip, as it happened (append-only by convention: services create)."""

    scope_kind = models.CharField(max_length=16, choices=ScopeKindChoice.choices)
    scope_key = models.BigIntegerField(default=0)
    kind = models.CharField(max_length=32)
    state_after = models.CharField(max_length=16, choices=TradingStateChoice.choices)
    detail = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["scope_kind", "scope_key", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} on {self.scope_kind}:{self.scope_key}"


class AdlAction(models.Model):
    """One auto-deleverage order: which tier, what ratio, what was closed, how the order went."""

    sub_account = models.ForeignKey(SubAccount, on_delete=models.PROTECT, related_name="adl_actions")
    tier = models.PositiveSmallIntegerField()
    margin_ratio = models.DecimalField(max_digits=38, decimal_places=18)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4)
    quantity = models.DecimalField(max_digits=38, decimal_places=18)
    client_order_id = models.CharField(max_length=36, blank=True)
    result = models.CharField(max_length=255)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"ADL tier {self.tier} {self.side} {self.quantity} {self.symbol}"


class LeverageBracketTable(models.Model):
    """The venue's leverage brackets of one symbol, as last fetched (for margin maths outside the engine)."""

    symbol = models.CharField(max_length=32, unique=True)
    brackets = models.JSONField(help_text="[{floor, cap, max_leverage, mmr, cum}] as strings")
    fetched_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.symbol

    def to_domain(self) -> tuple[Bracket, ...]:
        return tuple(brackets_from_json(self.brackets))


def brackets_to_json(brackets: tuple[Bracket, ...] | list[Bracket]) -> list[dict[str, Any]]:
    return [{"floor": str(b.notional_floor), "cap": str(b.notional_cap), "max_leverage": b.max_leverage,
             "mmr": str(b.maint_margin_ratio), "cum": str(b.cum)} for b in brackets]


def brackets_from_json(rows: list[dict[str, Any]]) -> list[Bracket]:
    return [Bracket(Decimal(r["floor"]), Decimal(r["cap"]), int(r["max_leverage"]), Decimal(r["mmr"]),
                    Decimal(r["cum"])) for r in rows]


class EquityState(models.Model):
    """A sub-account's equity history the breakers need across restarts: the day's opening equity and the peak."""

    sub_account = models.OneToOneField(SubAccount, on_delete=models.CASCADE, related_name="equity_state")
    day = models.DateField(help_text="UTC day of day_open_equity")
    day_open_equity = models.DecimalField(max_digits=38, decimal_places=18)
    peak_equity = models.DecimalField(max_digits=38, decimal_places=18)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"equity of {self.sub_account_id} on {self.day}"


class MarkHistory(models.Model):
    """The last mark price the engine saw in each UTC hour of a symbol: the data of the historical VaR."""

    symbol = models.CharField(max_length=32)
    hour = models.DateTimeField(help_text="start of the UTC hour")
    mark_price = models.DecimalField(max_digits=38, decimal_places=18)
    seen_at = models.DateTimeField(help_text="when this mark was seen (the latest in the hour wins)")

    class Meta:
        ordering = ["symbol", "hour"]
        constraints = [models.UniqueConstraint(fields=["symbol", "hour"], name="one_mark_per_symbol_hour"),
                       models.CheckConstraint(name="mark_history_positive", condition=Q(mark_price__gt=0))]

    def __str__(self) -> str:
        return f"{self.symbol} {self.hour:%Y-%m-%d %H}:00 {self.mark_price}"
