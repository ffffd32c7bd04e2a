"""Algo launcher forms: field checks here, instrument and position rules in algos.services (shown as form errors)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from trading.models import Instrument, Side


def _symbols() -> list[tuple[str, str]]:
    symbols = Instrument.objects.filter(status=Instrument.Status.TRADING).values_list("symbol", flat=True)
    return [(symbol, symbol) for symbol in symbols]


class _AlgoForm(forms.Form):
    symbol = forms.ChoiceField(choices=_symbols)


class ChaseForm(_AlgoForm):
    side = forms.ChoiceField(choices=Side.choices)
    quantity = forms.DecimalField(min_value=Decimal("0.000000000000000001"), max_digits=38, decimal_places=18,
                                  help_text="in the base asset, a multiple of the symbol's step size")
    stalk_mode = forms.ChoiceField(choices=[("maintain", "maintain"), ("trail", "trail"), ("none", "none")])
    offset_ticks = forms.IntegerField(min_value=0, max_value=1000, initial=0)
    max_distance_pct = forms.DecimalField(min_value=Decimal("0.01"), max_value=Decimal(50), initial=Decimal(2),
                                          help_text="cancel when the price runs this far (%)")


class TwapForm(_AlgoForm):
    side = forms.ChoiceField(choices=Side.choices)
    quantity = forms.DecimalField(min_value=Decimal("0.000000000000000001"), max_digits=38, decimal_places=18)
    lots = forms.IntegerField(min_value=1, max_value=1000, initial=10)
    interval_s = forms.IntegerField(min_value=1, max_value=86_400, initial=60, label="Interval (s)")
    limit_price = forms.DecimalField(required=False, min_value=Decimal("0.000000000000000001"), max_digits=38,
                                     decimal_places=18)


class TrailStopForm(_AlgoForm):
    trail_pct = forms.DecimalField(min_value=Decimal("0.01"), max_value=Decimal(50), label="Trail (%)")
    activation_price = forms.DecimalField(required=False, min_value=Decimal("0.000000000000000001"), max_digits=38,
                                          decimal_places=18)


class ScalperForm(_AlgoForm):
    quantity = forms.DecimalField(min_value=Decimal("0.000000000000000001"), max_digits=38, decimal_places=18,
                                  help_text="per side, split over the layers")
    sides = forms.ChoiceField(choices=[("both", "both"), ("long", "long only"), ("short", "short only")])
    layer_count = forms.IntegerField(min_value=1, max_value=10, initial=3)
    base_offset = forms.DecimalField(min_value=Decimal("0.01"), max_value=Decimal(1000), initial=Decimal(5),
                                     label="Base offset (bps)", help_text="of the mid, innermost layer")
    max_spread = forms.DecimalField(min_value=Decimal("0.01"), max_value=Decimal(2000), initial=Decimal(50),
                                    label="Max spread (bps)", help_text="outermost layer; at least the base offset")
    skew = forms.DecimalField(min_value=Decimal(-1), max_value=Decimal(1), initial=Decimal(0),
                              help_text="-1 … 1: more size on the outer (+) or inner (−) layers")
    max_position = forms.DecimalField(min_value=Decimal(0), max_digits=38, decimal_places=18, initial=Decimal(0),
                                      help_text="0: no cap beyond the risk limits")
    max_fills_per_minute = forms.IntegerField(min_value=1, max_value=600, initial=30)
    max_loss_bps = forms.DecimalField(min_value=Decimal("0.01"), max_value=Decimal(10_000), initial=Decimal(50),
                                      label="Max loss (bps)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        base, spread = data.get("base_offset"), data.get("max_spread")
        if base is not None and spread is not None and spread < base:
            self.add_error("max_spread", f"must be at least the base offset ({base} bps)")
        return data


BASKET_LEGS = 4


class BasketForm(forms.Form):
    """Several TWAP legs over the same schedule; algos.services starts one TWAP per leg, grouped by the label."""

    label = forms.SlugField(max_length=32, help_text="names the basket; every leg carries it")
    lots = forms.IntegerField(min_value=1, max_value=1000, initial=10)
    interval_s = forms.IntegerField(min_value=1, max_value=86_400, initial=60, label="Interval (s)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(1, BASKET_LEGS + 1):
            self.fields[f"leg{i}_symbol"] = forms.ChoiceField(choices=[("", "—"), *_symbols()], required=False,
                                                              label=f"Leg {i} symbol")
            self.fields[f"leg{i}_side"] = forms.ChoiceField(choices=Side.choices, required=False, label="side")
            self.fields[f"leg{i}_quantity"] = forms.DecimalField(
                required=False, min_value=Decimal("0.000000000000000001"), max_digits=38, decimal_places=18,
                label="quantity")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        legs = []
        for i in range(1, BASKET_LEGS + 1):
            symbol, side, quantity = (data.get(f"leg{i}_{name}") for name in ("symbol", "side", "quantity"))
            if not symbol and quantity is None:
                continue
            if not symbol:
                self.add_error(f"leg{i}_symbol", "choose a symbol for this leg, or clear its quantity")
            elif quantity is None:
                self.add_error(f"leg{i}_quantity", "give this leg a quantity, or clear its symbol")
            else:
                legs.append({"symbol": symbol, "side": side or "buy", "quantity": quantity})
        if not legs and not self.errors:
            raise forms.ValidationError("a basket needs at least one leg: a symbol and a quantity")
        data["legs"] = legs
        return data

    def leg_rows(self) -> list[list[forms.BoundField]]:
        return [[self[f"leg{i}_{name}"] for name in ("symbol", "side", "quantity")]
                for i in range(1, BASKET_LEGS + 1)]


ALGO_FORMS: dict[str, tuple[str, type[forms.Form]]] = {
    "chase": ("Chase", ChaseForm), "scalper": ("Scalper", ScalperForm), "twap": ("TWAP", TwapForm),
    "twap_basket": ("TWAP basket", BasketForm), "trail_stop": ("Trail stop", TrailStopForm)}
