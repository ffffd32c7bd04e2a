"""The risk app's view of each sub-account (trading state, margin ratio, liquidation prices) for pages and API.

`trading` may not import `risk` (layers), so the function comes from the `PMS_RISK_VIEWS` setting, the way Django
composes authentication backends; without it the sub-account's own status stands in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from trading.selectors import SubAccountOverview


def risk_views(sub_account_ids: Iterable[int]) -> dict[int, Any]:
    dotted = getattr(settings, "PMS_RISK_VIEWS", "")
    if not dotted:
        return {}
    loader = import_string(dotted)
    result: dict[int, Any] = loader(sub_account_ids=list(sub_account_ids))
    return result


def leverage(overview: SubAccountOverview) -> Decimal | None:
    return overview.notional / overview.equity if overview.equity > 0 else None


def with_risk(overviews: list[SubAccountOverview]) -> list[tuple[SubAccountOverview, Any]]:
    """Each overview with the risk engine's trading state and margin ratio (maintenance / margin balance)."""
    views = risk_views(o.id for o in overviews)
    merged = []
    for overview in overviews:
        view = views.get(overview.id)
        if view is not None:
            overview = replace(overview, trading_state=view.trading_state, margin_ratio=view.margin_ratio)
        else:
            overview = replace(overview, margin_ratio=None)
        merged.append((overview, view))
    return merged
