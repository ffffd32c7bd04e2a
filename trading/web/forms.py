"""Algo launcher forms: field checks here, instrument and position rules in algos.services (shown as form errors)."""

from __future__ import annotations

from decimal import Decimal

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


ALGO_FORMS: dict[str, tuple[str, type[forms.Form]]] = {
    "chase": ("Chase", ChaseForm), "twap": ("TWAP", TwapForm), "trail_stop": ("Trail stop", TrailStopForm)}
