"""Pure part of the tick-to-order benchmark: match each chase replace at simexchange to the bookTicker that caused it.

A chase prices at the touch ± its offset, so the new order's price names the quote: the trigger is the latest
quote sent before the replace's cancel arrived whose target equals that price; `first` is where that run of
quotes with the same target began (the lead's definition: the first quote that made the price the target).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MAX_LOOKBACK = 20_000  # quotes walked back per replace (a run of equal targets never gets near this)
HELD_NS = 20_000_000  # engine quote -> replace call beyond this: the decision waited (throttle), not the path


@dataclass(frozen=True, slots=True)
class ChaseSpec:
    algo_run_id: int
    symbol: str
    side: str  # "buy" or "sell"
    offset_ticks: int
    tick_size: Decimal

    def target(self, bid: Decimal, ask: Decimal) -> Decimal:
        """touch_price of algos.domain.chase for prices already on the tick grid."""
        if self.side == "buy":
            return bid - self.offset_ticks * self.tick_size
        return ask + self.offset_ticks * self.tick_size


@dataclass(frozen=True, slots=True)
class SentQuote:
    symbol: str
    bid: Decimal
    ask: Decimal
    sent_ns: int


@dataclass(frozen=True, slots=True)
class Replace:
    algo_run_id: int
    price: Decimal
    cancel_arrived_ns: int
    cancel_answered_ns: int
    new_arrived_ns: int
    old_client_order_id: str
    new_client_order_id: str


@dataclass(frozen=True, slots=True)
class Matched:
    replace: Replace
    trigger: SentQuote  # latest quote with the target before the cancel arrived
    first: SentQuote  # start of the run of quotes with that target
    redis_ns: int | None  # when the benchmark saw the trigger quote on the Redis quotes channel


def quotes_from_trace(rows: Iterable[Sequence[Any]]) -> dict[str, list[SentQuote]]:
    """simexchange's trace rows [symbol, update id, bid, ask, sent ns] -> per symbol, in send order."""
    by_symbol: dict[str, list[SentQuote]] = {}
    for symbol, _update_id, bid, ask, sent_ns in rows:
        by_symbol.setdefault(symbol, []).append(SentQuote(symbol, Decimal(bid), Decimal(ask), int(sent_ns)))
    for quotes in by_symbol.values():
        quotes.sort(key=lambda q: q.sent_ns)
    return by_symbol


def replaces_from_trace(requests: Iterable[Mapping[str, Any]], run_of: Mapping[str, int]) -> tuple[list[Replace], int]:
    """Pair each chase's cancel with the new order that follows it; also the number of plain placements.

    A replace is a DELETE of the chase's working order followed by a POST of the chase's next order.
    """
    per_run: dict[int, list[Mapping[str, Any]]] = {}
    for request in requests:
        if request.get("status") != 200:
            continue
        cid = request.get("client_order_id") if request["method"] == "POST" else request.get("orig_client_order_id")
        run = run_of.get(cid or "")
        if run is not None:
            per_run.setdefault(run, []).append(request)
    replaces, placements = [], 0
    for run, rows in per_run.items():
        rows.sort(key=lambda r: r["arrived_ns"])
        pending_cancel: Mapping[str, Any] | None = None
        for row in rows:
            if row["method"] == "DELETE":
                pending_cancel = row
            elif row["method"] == "POST" and row.get("price") is not None:
                if pending_cancel is None:
                    placements += 1
                else:
                    replaces.append(Replace(run, Decimal(row["price"]), pending_cancel["arrived_ns"],
                                            pending_cancel["answered_ns"], row["arrived_ns"],
                                            pending_cancel["orig_client_order_id"], row["client_order_id"]))
                pending_cancel = None
    return replaces, placements


class RedisSeen:
    """When a subscriber (the benchmark's own, or the engine's) saw quotes on the Redis quotes channel."""

    def __init__(self, seen: Iterable[tuple[str, Decimal, Decimal, int]]) -> None:
        self._rows: dict[str, list[tuple[int, Decimal, Decimal]]] = {}
        for symbol, bid, ask, ns in seen:
            self._rows.setdefault(symbol, []).append((ns, bid, ask))
        for rows in self._rows.values():
            rows.sort(key=lambda row: row[0])
        self._times = {symbol: [row[0] for row in rows] for symbol, rows in self._rows.items()}

    def first_after(self, quote: SentQuote, spec: ChaseSpec, price: Decimal, before_ns: int) -> int | None:
        """The first quote seen after `quote` left the exchange (and before `before_ns`) giving `price` as the target.

        By target, not by the exact quote: the feed keeps only the latest quote per symbol while Redis is busy,
        and a buy's target ignores the ask.
        """
        rows = self._rows.get(quote.symbol, [])
        start = bisect.bisect_left(self._times.get(quote.symbol, []), quote.sent_ns)
        for ns, bid, ask in rows[start:start + MAX_LOOKBACK]:
            if ns > before_ns:
                break
            if spec.target(bid, ask) == price:
                return ns
        return None


def match_replaces(replaces: Iterable[Replace], specs: Mapping[int, ChaseSpec],
                   quotes: Mapping[str, list[SentQuote]], redis_seen: RedisSeen | None = None,
                   ) -> tuple[list[Matched], int]:
    """Each replace with its trigger quote; also how many had no quote with their price as the target."""
    sent_times = {symbol: [q.sent_ns for q in rows] for symbol, rows in quotes.items()}
    matched, unmatched = [], 0
    for replace in replaces:
        spec = specs[replace.algo_run_id]
        rows = quotes.get(spec.symbol, [])
        end = bisect.bisect_left(sent_times.get(spec.symbol, []), replace.cancel_arrived_ns)
        found = _trigger(rows, end, spec, replace.price)
        if found is None:
            unmatched += 1
            continue
        trigger, first = found
        seen = None if redis_seen is None else redis_seen.first_after(trigger, spec, replace.price,
                                                                     replace.cancel_arrived_ns)
        matched.append(Matched(replace, trigger, first, seen))
    return matched, unmatched


def _trigger(rows: Sequence[SentQuote], end: int, spec: ChaseSpec,
             price: Decimal) -> tuple[SentQuote, SentQuote] | None:
    index = end - 1
    stop = max(-1, end - 1 - MAX_LOOKBACK)
    while index > stop and spec.target(rows[index].bid, rows[index].ask) != price:
        index -= 1
    if index <= stop:
        return None
    trigger = rows[index]
    while index - 1 > stop and spec.target(rows[index - 1].bid, rows[index - 1].ask) == price:
        index -= 1
    return trigger, rows[index]


def distribution(values_ms: Sequence[float]) -> dict[str, float | int]:
    """count, p50, p90, p99, max and mean in milliseconds (nearest-rank percentiles)."""
    if not values_ms:
        return {"count": 0}
    ordered = sorted(values_ms)

    def rank(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 3)

    return {"count": len(ordered), "p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99),
            "max": round(ordered[-1], 3), "mean": round(sum(ordered) / len(ordered), 3)}


def latency_figures(matched: Sequence[Matched]) -> dict[str, Any]:
    """The headline (quote sent -> replacement order arrived) and each hop, in ms."""
    ms = 1e-6
    figures: dict[str, Any] = {
        "quote_to_new_order_first_ms": distribution([(m.replace.new_arrived_ns - m.first.sent_ns) * ms
                                                     for m in matched]),
        "quote_to_new_order_ms": distribution([(m.replace.new_arrived_ns - m.trigger.sent_ns) * ms for m in matched]),
        "quote_to_cancel_ms": distribution([(m.replace.cancel_arrived_ns - m.trigger.sent_ns) * ms for m in matched]),
        "ambiguous_runs": sum(1 for m in matched if m.first is not m.trigger),
    }
    with_redis = [m for m in matched if m.redis_ns is not None]
    figures["hops_ms"] = {
        "exchange_to_redis_subscriber": distribution([(m.redis_ns - m.trigger.sent_ns) * ms  # type: ignore[operator]
                                                      for m in with_redis]),
        "redis_to_cancel_arrival": distribution([(m.replace.cancel_arrived_ns - m.redis_ns) * ms  # type: ignore[operator]
                                                 for m in with_redis]),
        "cancel_at_exchange": distribution([(m.replace.cancel_answered_ns - m.replace.cancel_arrived_ns) * ms
                                            for m in matched]),
        "cancel_answer_to_new_order_arrival": distribution(
            [(m.replace.new_arrived_ns - m.replace.cancel_answered_ns) * ms for m in matched]),
    }
    return figures


def engine_hops(matched: Sequence[Matched], specs: Mapping[int, ChaseSpec],
                events: Mapping[str, list[Sequence[Any]]]) -> dict[str, Any]:
    """Each hop of the replace path, joining the engine probe's events (by client id) with simexchange's trace."""
    received = RedisSeen((str(sym), Decimal(bid), Decimal(ask), int(ns))
                         for sym, bid, ask, ns in events.get("quote_received", []))
    replace_at = _first_by_key((row[0], row[2]) for row in events.get("replace_called", []))
    cancel_at = _first_by_key((row[0], row[1]) for row in events.get("cancel_called", []))
    place_at = _first_by_key((row[0], row[1]) for row in events.get("place_called", []))
    hops: dict[str, list[float]] = {name: [] for name in (
        "1_exchange_to_engine", "2_engine_quote_to_replace_call", "3_replace_call_to_cancel_send",
        "4_cancel_send_to_arrival", "5_cancel_at_exchange", "6_cancel_answer_to_place_send",
        "7_place_send_to_arrival")}
    ms = 1e-6
    not_held: list[float] = []
    for m in matched:
        r = m.replace
        replaced = replace_at.get(r.old_client_order_id)
        cancelled = cancel_at.get(r.old_client_order_id)
        placed = place_at.get(r.new_client_order_id)
        if replaced is None or cancelled is None or placed is None:
            continue
        got = received.first_after(m.trigger, specs[r.algo_run_id], r.price, replaced)
        if got is None:
            continue
        for name, value in zip(hops, (got - m.trigger.sent_ns, replaced - got, cancelled - replaced,
                                      r.cancel_arrived_ns - cancelled, r.cancel_answered_ns - r.cancel_arrived_ns,
                                      placed - r.cancel_answered_ns, r.new_arrived_ns - placed), strict=True):
            hops[name].append(value * ms)
        if replaced - got <= HELD_NS:
            not_held.append((r.new_arrived_ns - m.trigger.sent_ns) * ms)
    figures: dict[str, Any] = {name: distribution(values) for name, values in hops.items()}
    # The engine had the quote but decided later: a throttle-held target released by the next tick (quote or mark)
    figures["held_after_engine_had_the_quote"] = len(hops["2_engine_quote_to_replace_call"]) - len(not_held)
    figures["quote_to_new_order_not_held_ms"] = distribution(not_held)
    return figures


def _first_by_key(rows: Iterable[tuple[Any, Any]]) -> dict[str, int]:
    first: dict[str, int] = {}
    for key, ns in rows:
        first.setdefault(str(key), int(ns))
    return first


def durations(durations_ns: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    """The probe's wall durations per wrapped call, in ms."""
    return {name: distribution([ns * 1e-6 for ns in values]) for name, values in sorted(durations_ns.items())}
