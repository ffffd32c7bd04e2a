"""Trading use cases: load -> domain -> save -> on_commit(effects)."""

from trading.services.accounts import subaccount_deposit, subaccount_house, subaccount_withdraw
from trading.services.audit import audit_record
from trading.services.fills import FillBooked, FillReport, fill_book
from trading.services.orders import order_apply_update, order_register

__all__ = [
    "FillBooked",
    "FillReport",
    "audit_record",
    "fill_book",
    "order_apply_update",
    "order_register",
    "subaccount_deposit",
    "subaccount_house",
    "subaccount_withdraw",
]
