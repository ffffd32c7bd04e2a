"""Signal combination: the sub-strategies' weighted vote per timeframe, then primary (15m) with secondary (5m)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

AGREEMENT_BOOST = 1.3
SECONDARY_ALONE = 0.85  # a secondary signal may act alone above this confidence
CONFIDENCE_CAP = 0.99


@dataclass(frozen=True, slots=True)
class Vote:
    """One sub-strategy's view: direction +1 long, -1 short, 0 none; confidence in [0, 1]."""

    name: str
    direction: int
    confidence: float


@dataclass(frozen=True, slots=True)
class TimeframeSignal:
    direction: int
    confidence: float
    voters: tuple[str, ...] = ()  # the sub-strategies that voted for `direction`


NONE = TimeframeSignal(0, 0.0)


SUPPORT_FULL = 0.6  # winners holding 60 % of all the weight (3 of 5 equal sub-strategies) get full support


def votes_combine(votes: Sequence[Vote], weights: Mapping[str, float], total: float | None = None) -> TimeframeSignal:
    """Direction of the weighted sum of direction x confidence. Its confidence is the winners' weighted mean
    confidence x their share of the voting weight (dissent lowers it) x support: 0.5 + 0.5 x min(1, winners'
    weight / (60 % of every sub-strategy's weight)), so one lone voter counts for less than three agreeing.

    `total`: every sub-strategy's weight added up in the votes' order, when the caller has it (backtests keep
    one per regime); `votes` may then leave out the sub-strategies that did not vote."""
    # Every sum adds in the votes' order, as sum() over them would: the same floats whichever way it is called.
    get = weights.get
    if total is None:
        total = 0.0
        for vote in votes:
            total += get(vote.name, 1.0)
    score = voting = 0.0
    for vote in votes:
        if vote.direction:
            weight = get(vote.name, 1.0)
            score += weight * vote.direction * vote.confidence
            voting += weight
    if score == 0.0 or voting == 0.0:
        return NONE
    direction = 1 if score > 0 else -1
    winning = weighted = 0.0
    voters: list[str] = []
    for vote in votes:
        if vote.direction == direction:
            weight = get(vote.name, 1.0)
            winning += weight
            weighted += weight * vote.confidence
            voters.append(vote.name)
    mean = weighted / winning
    support = 0.5 + 0.5 * min(1.0, winning / (SUPPORT_FULL * total))
    return TimeframeSignal(direction, mean * winning / voting * support, tuple(voters))


@dataclass(frozen=True, slots=True)
class Combined:
    direction: int
    confidence: float
    reason: str
    voters: tuple[str, ...] = ()


def timeframes_combine(primary: TimeframeSignal, secondary: TimeframeSignal) -> Combined:
    """Agreement boosts the primary's confidence x1.3 (capped at 0.99); a conflict skips; the primary alone keeps
    its confidence; the secondary alone acts only above 85 %."""
    if primary.direction and secondary.direction:
        if primary.direction != secondary.direction:
            return Combined(0, 0.0, "15m and 5m conflict: skipped")
        return Combined(primary.direction, min(CONFIDENCE_CAP, primary.confidence * AGREEMENT_BOOST),
                        "15m and 5m agree", tuple(dict.fromkeys(primary.voters + secondary.voters)))
    if primary.direction:
        return Combined(primary.direction, primary.confidence, "15m alone", primary.voters)
    if secondary.direction and secondary.confidence > SECONDARY_ALONE:
        return Combined(secondary.direction, secondary.confidence, "strong 5m alone", secondary.voters)
    return Combined(0, 0.0, "no signal")
