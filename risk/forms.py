"""The risk page's forms: a sub-account's limits and the desk's limits, each validated by the rules the admin uses."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from risk.domain.limits import SubAccountLimits, limit_errors
from risk.models import GlobalRiskLimit, known_symbols
from risk.services import GLOBAL_LIMIT_FIELDS, LIMIT_FIELDS

DESK_LIMITS = {  # field: (label, unit) as the panel and the form show them
    "max_symbol_net_notional": ("Max net notional per symbol", "USDT of |Σ sub-account quantities| × mark"),
    "max_total_notional": ("Max total notional", "USDT over every sub-account and symbol"),
    "per_symbol_net_notional": ("Per-symbol net notional", "USDT; replaces the per-symbol max for these symbols"),
}


class LimitForm(forms.Form):
    """Every limit is optional (empty: no limit); the domain's rules say what to change."""

    max_position_notional = forms.DecimalField(required=False, max_digits=38, decimal_places=18,
                                               help_text="USDT per symbol, counting working orders")
    max_total_notional = forms.DecimalField(required=False, max_digits=38, decimal_places=18,
                                            help_text="USDT over every symbol")
    max_order_notional = forms.DecimalField(required=False, max_digits=38, decimal_places=18,
                                            help_text="USDT per order")
    max_leverage = forms.DecimalField(required=False, max_digits=38, decimal_places=18)
    max_open_orders = forms.IntegerField(required=False)
    max_orders_per_minute = forms.IntegerField(required=False, help_text="beyond it the sub-account is halted")
    max_daily_loss = forms.DecimalField(required=False, max_digits=38, decimal_places=18,
                                        help_text="USDT below the day's opening equity: reducing")
    max_drawdown_pct = forms.DecimalField(required=False, max_digits=38, decimal_places=18, label="Max drawdown (%)")
    rapid_drawdown_pct = forms.DecimalField(required=False, max_digits=38, decimal_places=18,
                                            label="Rapid drawdown (%)", help_text="within 10 minutes: halts")
    price_band_pct = forms.DecimalField(required=False, max_digits=38, decimal_places=18, label="Price band (%)")
    allowed_symbols = forms.CharField(required=False, help_text="comma-separated; empty allows every symbol")

    def clean_allowed_symbols(self) -> list[str]:
        raw = str(self.cleaned_data.get("allowed_symbols") or "")
        return sorted({part.strip().upper() for part in raw.split(",") if part.strip()})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        limits = SubAccountLimits(**{name: data.get(name) for name in LIMIT_FIELDS if name != "allowed_symbols"},
                                  allowed_symbols=frozenset(data.get("allowed_symbols") or ()))
        for name, message in limit_errors(limits, known_symbols=known_symbols()).items():
            self.add_error(name, message)
        return data


class GlobalLimitForm(forms.ModelForm):
    """The desk's limits (empty: no limit). A ModelForm so the model's clean() runs exactly as in the admin;
    saving goes through global_limit_set, never form.save()."""

    per_symbol_net_notional = forms.CharField(
        required=False, label=f"{DESK_LIMITS['per_symbol_net_notional'][0]} (USDT)",
        help_text="SYMBOL=amount, comma-separated, e.g. BTCUSDT=2000000; it replaces the per-symbol max there")

    class Meta:
        model = GlobalRiskLimit
        fields = list(GLOBAL_LIMIT_FIELDS)
        labels = {name: f"{label} (USDT)" for name, (label, _) in DESK_LIMITS.items()}
        help_texts = {name: unit for name, (_, unit) in DESK_LIMITS.items()}

    def clean_per_symbol_net_notional(self) -> dict[str, str]:
        """"btcusdt=2e6, ETHUSDT=500000" -> {"BTCUSDT": "2000000", "ETHUSDT": "500000"} (amounts as text, as stored)."""
        overrides: dict[str, str] = {}
        raw = str(self.cleaned_data.get("per_symbol_net_notional") or "")
        for part in (piece.strip() for piece in raw.replace("\n", ",").split(",")):
            if not part:
                continue
            symbol, equals, amount = (piece.strip() for piece in part.partition("="))
            symbol = symbol.upper()
            if not equals or not symbol:
                raise forms.ValidationError(f"write each as SYMBOL=amount, e.g. BTCUSDT=2000000 (got {part!r})")
            if symbol in overrides:
                raise forms.ValidationError(f"{symbol} is given twice; keep one amount")
            try:
                overrides[symbol] = format(Decimal(amount), "f")
            except InvalidOperation:
                raise forms.ValidationError(f"{symbol}: {amount!r} is not a number; write e.g. 2000000") from None
        return overrides


def overrides_text(overrides: dict[str, Decimal]) -> str:
    """The per-symbol overrides as the form's text field shows them: "BTCUSDT=2000000, ETHUSDT=500000"."""
    return ", ".join(f"{symbol}={format(value.normalize(), 'f')}" for symbol, value in sorted(overrides.items()))
