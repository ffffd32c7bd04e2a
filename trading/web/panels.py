"""The live panels of each page: what each shows (from selectors) and which events make it stale.

Pages render them inline; the websocket consumer re-renders the same partials and pushes them as
out-of-band swaps, so a page and its live updates can never disagree about how a panel looks.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string

from core.clock import SYSTEM_CLOCK, Clock
from core.errors import NotFound
from trading.models import Instrument, SubAccount
from trading.selectors import (
    algo_run_list,
    engine_status_read,
    equity_curve,
    fill_list,
    ledger_list,
    market_history,
    market_l1_many,
    order_list,
    subaccount_get_visible,
    subaccount_list_visible,
    subaccount_overview,
    subaccount_overview_list,
)
from trading.web.riskview import leverage, with_risk

PAGE_PANELS: dict[str, tuple[str, ...]] = {
    "desk": ("status", "desk-table"),
    # in the order a change refreshes them (renders start in this order): what an operator watches first
    "account": ("fills", "positions", "orders", "summary", "algos", "ledger", "equity", "status"),
    "market": ("status", "quotes", "chart"),
}
# Panels whose HTML is the same for every viewer allowed to see them (grants are checked on connect and on each
# full refresh): the live sockets render them once per change and share the HTML (trading.web.shared_render).
VIEWER_INDEPENDENT: dict[str, frozenset[str]] = {
    "account": frozenset(PAGE_PANELS["account"]), "desk": frozenset({"status"}),
    "market": frozenset({"status", "quotes"}), "risk": frozenset({"status"})}
ACCOUNT_EVENTS: dict[str, tuple[str, ...]] = {
    "fill": ("summary", "positions", "orders", "algos", "fills", "ledger", "equity", "desk-table", "chart"),
    "position_updated": ("summary", "positions", "desk-table"),
    "margin_updated": ("summary", "desk-table"),
    "order_updated": ("orders", "algos"),
    "order_rejected": ("orders", "algos"),
}
ALGO_EVENT_PANELS = ("algos", "orders")
# Panels re-rendered on a timer: marks move without an event reaching the web, and a dropped channel-layer
# message must not leave a panel wrong for long.
TICK_PANELS = {"status": 2.0, "quotes": 1.0, "positions": 2.0, "summary": 2.0, "desk-table": 2.0, "chart": 2.0}
FULL_REFRESH_S = 10.0


def panels_for_event(page: str, event: str) -> tuple[str, ...]:
    if event == "engine_state" or event == "risk_alert":
        wanted: tuple[str, ...] = ("status",)
    elif event in ACCOUNT_EVENTS:
        wanted = ACCOUNT_EVENTS[event]
    elif event.startswith(("chase_", "twap_", "scalper_", "trail_stop_")):
        wanted = ALGO_EVENT_PANELS
    else:
        wanted = ()
    return tuple(panel for panel in wanted if panel in PAGE_PANELS.get(page, ()))


def status_context(clock: Clock = SYSTEM_CLOCK) -> dict[str, Any]:
    engine = engine_status_read(now_ms=clock.now_ms())
    return {"engine": engine, "engine_ok": engine["status"] == "running"}


OVERVIEW_PANELS = frozenset({"summary", "positions"})  # the same figures: the live sockets compute them once


def overview_context(*, sub_account: SubAccount) -> dict[str, Any]:
    """What the summary and positions panels show: balances, PnL, positions and the risk engine's view."""
    (overview, risk), = with_risk([subaccount_overview(sub_account=sub_account)])
    liquidation = risk.liquidation_prices if risk is not None else {}
    return {"overview": overview, "risk": risk, "leverage": leverage(overview),
            "position_rows": [(p, liquidation.get(p.symbol)) for p in overview.positions]}


def live_overview_context(*, sub_account_id: int) -> dict[str, Any]:
    """For the live sockets, which checked the grant on connect and re-check it on each full refresh."""
    return overview_context(sub_account=SubAccount.objects.get(pk=sub_account_id))


def account_context(*, user: Any, sub_account_id: int, panel: str | None = None,
                    granted: bool = False) -> dict[str, Any]:
    """Everything the account page shows (or just what `panel` needs). `granted`: the caller has checked the
    user's grant on this sub-account (a live socket), so the lists need no sub-account row."""
    context: dict[str, Any] = {}
    if not granted or panel is None or panel in OVERVIEW_PANELS:
        sub_account = subaccount_get_visible(user=user, sub_account_id=sub_account_id)
        context["sub_account"] = sub_account
        if panel is None or panel in OVERVIEW_PANELS:
            context.update(overview_context(sub_account=sub_account))
    if panel in (None, "orders"):
        context["orders"] = list(order_list(sub_account_id=sub_account_id, open_only=True)[:50])
    if panel in (None, "algos"):
        context["algos"] = [_with_progress(run) for run in algo_run_list(sub_account_ids=[sub_account_id])[:20]]
    if panel in (None, "fills"):
        context["fills"] = list(fill_list(sub_account_id=sub_account_id)[:30])
    if panel in (None, "ledger"):
        context["ledger"] = list(ledger_list(sub_account_id=sub_account_id)[:30])
    if panel in (None, "equity"):
        context["equity_svg"] = equity_svg(equity_curve(sub_account_id=sub_account_id))
    return context


def desk_context(*, user: Any) -> dict[str, Any]:
    return {"overviews": [overview for overview, _ in with_risk(subaccount_overview_list(user=user))]}


def chart_context(*, user: Any, sub_account_id: int | None, symbol: str | None,
                  clock: Clock = SYSTEM_CLOCK) -> dict[str, Any]:
    """The market page's chart: one sub-account's fills in one symbol against the cached bid, ask and mark."""
    sub_accounts = list(subaccount_list_visible(user=user))
    symbols = list(Instrument.objects.order_by("symbol").values_list("symbol", flat=True))
    chosen = next((s for s in sub_accounts if s.pk == sub_account_id), None) if sub_account_id else None
    if sub_account_id and chosen is None:
        raise NotFound(f"sub-account {sub_account_id} does not exist")
    chosen = chosen or (sub_accounts[0] if sub_accounts else None)
    symbol = symbol if symbol in symbols else (symbols[0] if symbols else None)
    fills = list(fill_list(sub_account_id=chosen.pk, symbol=symbol)[:CHART_FILLS]) if chosen and symbol else []
    l1 = market_l1_many(symbols=[symbol]).get(symbol) if symbol else None
    history = market_history(symbol=symbol) if symbol else []
    return {"chart_sub_accounts": sub_accounts, "chart_symbols": symbols, "chart_sub": chosen,
            "chart_symbol": symbol, "chart": price_chart_svg(list(reversed(fills)), l1, now_ms=clock.now_ms(),
                                                             history=history)}


CHART_FILLS = 200


def _mark(l1: Any) -> Decimal | None:
    if l1 is None:
        return None
    return l1.mark_price if l1.mark_price is not None else l1.mid


CHART_POINTS = 400  # the price line is thinned to this many points: enough for 800 px, light to re-send


def price_chart_svg(fills: list[Any], l1: Any, *, now_ms: int, history: list[tuple[int, Decimal]] | None = None,
                    width: int = 800, height: int = 220) -> dict[str, Any]:
    """The feed's recent prices as a line, the fills on it (buys and sells as markers) and the current bid, ask
    and mark as dashed lines; positions computed here so the browser needs no chart library. The time axis
    spans the price history (the feed keeps half an hour); without one, the fills' own times."""
    history = _thinned(history or [], CHART_POINTS)
    levels = {name: value for name, value in (("bid", l1.bid if l1 else None), ("ask", l1.ask if l1 else None),
                                              ("mark", _mark(l1))) if value is not None}
    if history:
        fills = [f for f in fills if int(f.executed_at.timestamp() * 1000) >= history[0][0]]
    prices = [f.price for f in fills] + list(levels.values()) + [price for _, price in history]
    if not prices:
        return {"empty": True, "width": width, "height": height}
    low, high = min(prices), max(prices)
    pad = (high - low) * Decimal("0.1") or high * Decimal("0.001") or Decimal(1)
    low, high = low - pad, high + pad
    times = [int(f.executed_at.timestamp() * 1000) for f in fills]
    start = min([*times, *(ms for ms, _ in history[:1])], default=now_ms - 60_000)
    span_ms = max(now_ms - start, 1)
    # pixel positions only: floats are fine here, every price shown as text stays a Decimal
    x_scale, y_low, y_scale = (width - 10) / span_ms, float(low), height / float(high - low)

    def x(ms: int) -> str:
        return f"{(ms - start) * x_scale + 5:.1f}"

    def y(price: Decimal) -> str:
        return f"{height - (float(price) - y_low) * y_scale:.1f}"

    markers = [{"x": x(ms), "y": y(f.price), "side": f.side, "label": f"{f.side} {f.quantity.normalize():f} @ "
                f"{f.price.normalize():f} {f.executed_at:%H:%M:%S}"} for f, ms in zip(fills, times, strict=True)]
    return {"empty": False, "width": width, "height": height, "markers": markers,
            "line": " ".join(f"{m['x']},{m['y']}" for m in markers),
            "price_line": " ".join(f"{x(ms)},{y(price)}" for ms, price in history),
            "history_minutes": round((now_ms - history[0][0]) / 60_000) if history else 0,
            "levels": [{"name": name, "y": y(value), "price": value} for name, value in levels.items()],
            "low": low, "high": high, "count": len(fills)}


def _thinned(points: list[tuple[int, Decimal]], most: int) -> list[tuple[int, Decimal]]:
    """Every k-th point, the newest always kept."""
    if len(points) <= most:
        return points
    step = -(-len(points) // most)
    kept = points[::step]
    return kept if kept[-1] == points[-1] else [*kept, points[-1]]


def market_context(*, clock: Clock = SYSTEM_CLOCK) -> dict[str, Any]:
    symbols = list(Instrument.objects.order_by("symbol").values_list("symbol", flat=True))
    l1s = market_l1_many(symbols=symbols)
    now_ms = clock.now_ms()
    rows = []
    for symbol in symbols:
        l1 = l1s.get(symbol)
        bid, ask = (l1.bid, l1.ask) if l1 else (None, None)
        age_ms = now_ms - l1.time_ms if l1 else None
        rows.append({"symbol": symbol, "bid": bid, "ask": ask, "mark": l1.mark_price if l1 else None,
                     "spread": (ask - bid) if bid is not None and ask is not None else None,
                     "age_s": None if age_ms is None else Decimal(age_ms) / 1000,
                     "stale": age_ms is None or age_ms > 5_000})
    return {"quotes": rows}


def _with_progress(run: Any) -> Any:
    quantity = run.parameters.get("quantity")
    try:
        total = Decimal(str(quantity)) if quantity not in (None, "") else None
    except ArithmeticError:
        total = None
    run.progress_pct = int(min(run.filled_quantity / total, 1) * 100) if total else None
    return run


def equity_svg(curve: list[tuple[Any, Decimal]], width: int = 600, height: int = 120) -> dict[str, Any]:
    """A polyline for the balance history (server-rendered SVG: no chart library in the browser)."""
    if len(curve) < 2:
        return {"points": "", "low": curve[0][1] if curve else None, "high": curve[0][1] if curve else None,
                "width": width, "height": height}
    values = [value for _, value in curve]
    low, high = min(values), max(values)
    span = (high - low) or Decimal(1)
    step = Decimal(width) / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{(Decimal(height) - (value - low) / span * height):.1f}"
                      for i, value in enumerate(values))
    return {"points": points, "low": low, "high": high, "width": width, "height": height}


def panel_html(*, page: str, panel: str, user: Any, sub_account_id: int | None, version: int | str,
               snapshot: bool, symbol: str | None = None, granted: bool = False,
               shared: dict[str, Any] | None = None) -> str:
    """One panel as an out-of-band fragment, carrying its version for the page's gap check. `shared`: figures
    computed once for several panels (never modified here); `granted`: see account_context."""
    if shared is not None:
        context = dict(shared)
    elif panel == "status":
        context = status_context()
    elif page == "account":
        assert sub_account_id is not None  # noqa: S101 - the consumer resolves it on connect
        context = account_context(user=user, sub_account_id=sub_account_id, panel=panel, granted=granted)
    elif page == "desk":
        context = desk_context(user=user)
    elif panel == "chart":
        context = chart_context(user=user, sub_account_id=sub_account_id, symbol=symbol)
    else:
        context = market_context()
    context.update({"oob": True, "version": version, "snapshot": snapshot})
    template = "trading/base_panels.html" if panel == "status" else f"trading/{page}.html"
    return render_to_string(f"{template}#{panel}", context)

