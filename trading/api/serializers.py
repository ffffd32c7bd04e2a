"""What the API reads and writes. Decimals are strings without trailing zeros; input is checked field by field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from trading.models import AlgoRun, EngineCommand, Fill, LedgerEntry, Order, Side


class DecimalString(serializers.DecimalField):
    """A 38.18 decimal as a string ("0.01", not "0.010000000000000000")."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 38)
        kwargs.setdefault("decimal_places", 18)
        super().__init__(coerce_to_string=True, **kwargs)

    def to_representation(self, value: Any) -> str | None:
        if value is None:
            return None
        return format(Decimal(value).normalize(), "f")


class PositiveDecimal(DecimalString):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error_messages["min_value"] = "must be greater than 0"

    def to_internal_value(self, data: Any) -> Decimal:
        value = super().to_internal_value(data)
        if value <= 0:
            raise serializers.ValidationError(f"must be greater than 0, got {data}")
        plain = value.normalize()  # "0.010000000000000000" (quantized to 18 places) -> "0.01"
        return plain if plain.as_tuple().exponent <= 0 else plain.quantize(Decimal(1))


# -- reads -----------------------------------------------------------------------------------------------

class PositionOut(serializers.Serializer):
    symbol = serializers.CharField()
    quantity = DecimalString(help_text="signed: long > 0")
    average_entry = DecimalString()
    mark_price = DecimalString(allow_null=True, help_text="the feed's cached mark; null when no price is cached")
    unrealized_pnl = DecimalString(allow_null=True)
    realized_pnl = DecimalString()
    fees = DecimalString()
    notional = DecimalString(allow_null=True)
    liquidation_price = DecimalString(allow_null=True, help_text="from the risk snapshot; null when none")


class SubAccountOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    trading_state = serializers.ChoiceField(choices=["ACTIVE", "REDUCING", "HALTED"],
                                            help_text="from the risk engine: the strictest of global and sub-account")
    balance = DecimalString()
    unrealized_pnl = DecimalString()
    realized_pnl = DecimalString()
    equity = DecimalString()
    notional = DecimalString()
    margin_ratio = DecimalString(allow_null=True, help_text="maintenance margin / margin balance, from the risk "
                                 "snapshot; null when it cannot be computed")
    leverage = DecimalString(allow_null=True, help_text="open notional / equity")
    prices_missing = serializers.ListField(child=serializers.CharField(),
                                           help_text="symbols whose PnL is left out: no cached price")


class OrderOut(serializers.ModelSerializer):
    price = DecimalString(allow_null=True)
    quantity = DecimalString()
    filled_quantity = DecimalString()
    average_price = DecimalString(allow_null=True)

    class Meta:
        model = Order
        fields = ["id", "client_order_id", "exchange_order_id", "sub_account", "symbol", "side", "order_type",
                  "time_in_force", "price", "quantity", "filled_quantity", "average_price", "status", "reduce_only",
                  "origin", "algo_run", "reject_reason", "created_at", "updated_at"]


class FillOut(serializers.ModelSerializer):
    price = DecimalString()
    quantity = DecimalString()
    fee = DecimalString()
    realized_pnl = DecimalString()

    class Meta:
        model = Fill
        fields = ["id", "trade_key", "client_order_id", "sub_account", "symbol", "side", "price", "quantity", "fee",
                  "fee_asset", "is_maker", "realized_pnl", "executed_at", "is_synthetic"]


class LedgerEntryOut(serializers.ModelSerializer):
    amount = DecimalString()

    class Meta:
        model = LedgerEntry
        fields = ["id", "sub_account", "kind", "amount", "asset", "reference", "note", "created_at"]


class AlgoRunOut(serializers.ModelSerializer):
    filled_quantity = DecimalString(help_text="what the run's orders have filled, as booked")
    quantity = serializers.SerializerMethodField(help_text="the quantity asked for, when the kind has one")

    class Meta:
        model = AlgoRun
        fields = ["id", "kind", "sub_account", "status", "parameters", "quantity", "filled_quantity", "result",
                  "created_at", "started_at", "ended_at"]

    def get_quantity(self, run: AlgoRun) -> str | None:
        raw = run.parameters.get("quantity")
        return None if raw in (None, "") else str(raw)


class CommandOut(serializers.ModelSerializer):
    class Meta:
        model = EngineCommand
        fields = ["id", "kind", "status", "payload", "result", "error", "created_at", "started_at", "finished_at"]


class EngineStatusOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=["running", "paused", "stale", "unknown"])
    reason = serializers.CharField(allow_blank=True)
    live_orders = serializers.IntegerField(allow_null=True, required=False)
    heartbeat_age_ms = serializers.IntegerField(allow_null=True)


# -- writes ----------------------------------------------------------------------------------------------

class OrderPlaceIn(serializers.Serializer):
    sub_account = serializers.IntegerField(min_value=1, help_text="sub-account id")
    symbol = serializers.CharField(max_length=32)
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = PositiveDecimal()
    price = PositiveDecimal(required=False, allow_null=True, help_text="limit price; omit for a market order")
    time_in_force = serializers.ChoiceField(choices=Order.TimeInForce.choices, required=False, allow_null=True)
    reduce_only = serializers.BooleanField(default=False)


class AlgoCommonIn(serializers.Serializer):
    sub_account = serializers.IntegerField(min_value=1, help_text="sub-account id")
    symbol = serializers.CharField(max_length=32)


class ChaseIn(AlgoCommonIn):
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = PositiveDecimal()
    offset_ticks = serializers.IntegerField(min_value=0, max_value=1000, default=0)
    stalk_mode = serializers.ChoiceField(choices=["none", "maintain", "trail"], default="maintain")
    max_distance_pct = PositiveDecimal(max_value=Decimal(50), default=Decimal(2))
    reprice_throttle_ms = serializers.IntegerField(min_value=100, max_value=60_000, default=500)


class TwapIn(AlgoCommonIn):
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = PositiveDecimal()
    lots = serializers.IntegerField(min_value=1, max_value=1000, default=10)
    interval_s = serializers.IntegerField(min_value=1, max_value=86_400, default=60)
    limit_price = PositiveDecimal(required=False, allow_null=True)
    irregular = serializers.BooleanField(default=False)


class TrailStopIn(AlgoCommonIn):
    trail_pct = PositiveDecimal(max_value=Decimal(50))
    activation_price = PositiveDecimal(required=False, allow_null=True)


class ScalperIn(AlgoCommonIn):
    quantity = PositiveDecimal(help_text="per side, split over the layers by skew")
    sides = serializers.ChoiceField(choices=["both", "long", "short"], default="both")
    layer_count = serializers.IntegerField(min_value=1, max_value=10, default=3)
    base_offset = PositiveDecimal(max_value=Decimal(1000), default=Decimal(5), help_text="bps of the mid")
    max_spread = PositiveDecimal(max_value=Decimal(2000), default=Decimal(50), help_text="bps; >= base_offset")
    skew = DecimalString(min_value=Decimal(-1), max_value=Decimal(1), default=Decimal(0))
    max_position = DecimalString(min_value=Decimal(0), default=Decimal(0), help_text="0: no cap")
    base_delay_ms = serializers.IntegerField(min_value=0, max_value=600_000, default=1000)
    max_fills_per_minute = serializers.IntegerField(min_value=1, max_value=600, default=30)
    max_loss_bps = PositiveDecimal(max_value=Decimal(10_000), default=Decimal(50))
    reprice_throttle_ms = serializers.IntegerField(min_value=100, max_value=60_000, default=500)
    max_distance_pct = PositiveDecimal(max_value=Decimal(50), default=Decimal(1))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["max_spread"] < attrs["base_offset"]:
            raise serializers.ValidationError({"max_spread": f"must be at least base_offset ({attrs['base_offset']})"})
        return attrs


class BasketLegIn(serializers.Serializer):
    symbol = serializers.CharField(max_length=32)
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = PositiveDecimal()
    limit_price = PositiveDecimal(required=False, allow_null=True)


class TwapBasketIn(serializers.Serializer):
    sub_account = serializers.IntegerField(min_value=1, help_text="sub-account id")
    label = serializers.SlugField(max_length=32, help_text="names the basket; every leg's run carries it")
    lots = serializers.IntegerField(min_value=1, max_value=1000, default=10)
    interval_s = serializers.IntegerField(min_value=1, max_value=86_400, default=60)
    legs = BasketLegIn(many=True, allow_empty=False, max_length=20)


ALGO_INPUTS: dict[str, type[AlgoCommonIn]] = {"chase": ChaseIn, "scalper": ScalperIn, "twap": TwapIn,
                                              "trail_stop": TrailStopIn}
