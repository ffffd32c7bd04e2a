"""Ops' view of trading: sub-accounts and instruments editable, history read-only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet, Sum
from django.http import HttpRequest

from trading import models
from trading.selectors import subaccount_balance


def with_asset(amount: Decimal | None, asset: str = "USDT") -> str:
    if amount is None:
        return "-"
    return f"{amount.normalize():f} {asset}"


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by services only: no add, change or delete from the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.SubAccount)
class SubAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "status", "is_house", "balance"]
    list_filter = ["status", "is_house"]
    search_fields = ["name", "code"]
    filter_horizontal = ["operators"]
    readonly_fields = ["code", "balance", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[models.SubAccount]:
        qs = super().get_queryset(request)
        return qs.annotate(_balance=Sum("ledger__amount"))

    @admin.display(description="balance")
    def balance(self, obj: models.SubAccount) -> str:
        amount = getattr(obj, "_balance", None)
        if amount is None and obj.pk:
            amount = subaccount_balance(sub_account_id=obj.pk)
        return with_asset(amount)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # close a sub-account instead: its history must stay


@admin.register(models.Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["symbol", "status", "tick_size", "step_size", "min_qty", "min_notional"]
    list_filter = ["status", "quote_asset"]
    search_fields = ["symbol"]


@admin.register(models.Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["client_order_id", "sub_account", "symbol", "side", "order_type", "price_text", "quantity",
                    "filled_quantity", "status", "origin", "created_at"]
    list_filter = ["status", "side", "order_type", "origin", "symbol", "sub_account"]
    search_fields = ["client_order_id", "exchange_order_id"]
    date_hierarchy = "created_at"

    @admin.display(description="price")
    def price_text(self, obj: models.Order) -> str:
        return with_asset(obj.price)


@admin.register(models.Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ["trade_key", "client_order_id", "sub_account", "symbol", "side", "price", "quantity",
                    "fee_text", "realized_text", "is_maker", "is_synthetic", "executed_at"]
    list_filter = ["symbol", "side", "is_maker", "is_synthetic", "sub_account"]
    search_fields = ["trade_key", "client_order_id"]
    date_hierarchy = "executed_at"

    @admin.display(description="fee")
    def fee_text(self, obj: models.Fill) -> str:
        return with_asset(obj.fee, obj.fee_asset)

    @admin.display(description="realized PnL")
    def realized_text(self, obj: models.Fill) -> str:
        return with_asset(obj.realized_pnl)


@admin.register(models.VirtualPosition)
class VirtualPositionAdmin(ReadOnlyAdmin):
    list_display = ["sub_account", "symbol", "quantity", "average_entry", "realized_text", "fees_text", "updated_at"]
    list_filter = ["symbol", "sub_account"]
    search_fields = ["symbol", "sub_account__name"]

    @admin.display(description="realized PnL")
    def realized_text(self, obj: models.VirtualPosition) -> str:
        return with_asset(obj.realized_pnl)

    @admin.display(description="fees")
    def fees_text(self, obj: models.VirtualPosition) -> str:
        return with_asset(obj.fees)


@admin.register(models.ExchangePosition)
class ExchangePositionAdmin(ReadOnlyAdmin):
    list_display = ["account", "symbol", "quantity", "entry_price", "mark_price", "unrealized_pnl", "snapshot_at"]
    list_filter = ["account", "symbol"]


@admin.register(models.LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "sub_account", "kind", "amount_text", "reference", "note"]
    list_filter = ["kind", "asset", "sub_account"]
    search_fields = ["reference", "note", "fill__client_order_id"]
    date_hierarchy = "created_at"

    @admin.display(description="amount")
    def amount_text(self, obj: models.LedgerEntry) -> str:
        return with_asset(obj.amount, obj.asset)


@admin.register(models.AlgoRun)
class AlgoRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "sub_account", "status", "created_at", "started_at", "ended_at"]
    list_filter = ["kind", "status", "sub_account"]


@admin.register(models.AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "target_type", "target_id", "result"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_label", "target_id", "action"]
    date_hierarchy = "created_at"

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)


admin.site.site_header = "PMS administration"
admin.site.site_title = "PMS"


@admin.register(models.ReconciliationLog)
class ReconciliationLogAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "kind", "account", "outcome", "found_count", "action_count", "alert_count"]
    list_filter = ["kind", "outcome", "account"]
    date_hierarchy = "started_at"
    readonly_fields = ["account", "kind", "outcome", "started_at", "finished_at", "compared", "found", "actions",
                       "alerts", "error"]

    @admin.display(description="found")
    def found_count(self, obj: models.ReconciliationLog) -> int:
        return len(obj.found)

    @admin.display(description="done")
    def action_count(self, obj: models.ReconciliationLog) -> int:
        return len(obj.actions)

    @admin.display(description="alerts")
    def alert_count(self, obj: models.ReconciliationLog) -> int:
        return len(obj.alerts)
