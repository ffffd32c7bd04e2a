"""Order intent validation shared by the PostgreSQL and the in-memory journals."""

from __future__ import annotations

import secrets
from decimal import Decimal

from core.errors import AppError, NotFound

from .client_ids import client_id_make, client_id_parse, encode_base62
from .instruments import InstrumentRules, order_rejection_reason
from .records import OrderIntent, SubAccountInfo
from .types import OrderType


def check_intent(intent: OrderIntent, sub_account: SubAccountInfo | None, rules: InstrumentRules | None,
                 reference_price: Decimal | None) -> None:
    """The validation both journals share; raises AppError with the operator's reason."""
    if sub_account is None:
        raise NotFound(f"sub-account {intent.sub_account_id} does not exist")
    if sub_account.status == "closed":
        raise AppError(f"sub-account {sub_account.name} is closed", code="sub_account_closed")
    if sub_account.status == "frozen" and not intent.reduce_only:
        raise AppError(f"sub-account {sub_account.name} is frozen: only reduce-only orders are allowed; "
                       "ask ops to unfreeze it", code="sub_account_frozen")
    if rules is None:
        raise NotFound(f"unknown symbol {intent.symbol!r}")
    if intent.order_type == OrderType.MARKET and intent.time_in_force is not None:
        raise AppError("a market order takes no time in force")
    reason = order_rejection_reason(rules, order_type=OrderType(intent.order_type), quantity=intent.quantity,
                                    price=intent.price, reference_price=reference_price,
                                    reduce_only=intent.reduce_only)
    if reason is not None:
        raise AppError(reason, code="order_invalid")


def new_client_order_id(intent: OrderIntent, sub_account: SubAccountInfo) -> str:
    if intent.client_order_id is None:
        return client_id_make(sub_account.code, intent.origin, encode_base62(secrets.randbits(62)))
    parsed = client_id_parse(intent.client_order_id)
    if parsed is None:
        raise AppError(f"malformed client order id {intent.client_order_id!r}: expected PMS<sub8>_<TYPE>_<id>")
    if parsed.sub_account_code != sub_account.code:
        raise AppError(f"client order id {intent.client_order_id} belongs to another sub-account")
    return intent.client_order_id
