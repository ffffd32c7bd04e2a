"""ADL tiers: monotonic in the margin ratio, the right quantities, a cooldown between repeated steps."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from risk.domain.adl import AdlMemory, adl_decide, adl_tier, partial_quantity

D = Decimal
ratios = st.decimals("0", "2", places=5)


@given(a=ratios, b=ratios)
def test_a_higher_margin_ratio_never_reaches_a_lower_tier(a, b):
    low, high = sorted((a, b))
    low_tier, high_tier = adl_tier(low), adl_tier(high)
    low_level = low_tier.level if low_tier else 0
    high_level = high_tier.level if high_tier else 0
    assert high_level >= low_level


@given(size=st.decimals("0.001", "1000", places=3), fraction=st.sampled_from([D("0.3"), D("0.5")]))
def test_a_partial_close_is_on_the_step_and_never_more_than_the_position(size, fraction):
    quantity = partial_quantity(size, fraction, D("0.001"))
    assert D("0.001") <= quantity <= size
    assert quantity % D("0.001") == 0
    assert quantity >= size * fraction - D("0.001")


POSITIONS = {"BTCUSDT": (D("2.000"), D(120000)), "ETHUSDT": (D("-10.000"), D(30000))}
STEPS = {"BTCUSDT": D("0.001"), "ETHUSDT": D("0.001")}


def test_below_ninety_percent_nothing_is_closed():
    assert adl_decide(ratio=D("0.8999"), positions=POSITIONS, step_sizes=STEPS, last=None, now_ms=0) is None


def test_tier_one_closes_thirty_percent_of_the_largest_position():
    step = adl_decide(ratio=D("0.91"), positions=POSITIONS, step_sizes=STEPS, last=None, now_ms=0)
    assert step is not None and step.tier.level == 1
    assert [(r.symbol, r.quantity) for r in step.reductions] == [("BTCUSDT", D("0.600"))]


def test_tier_two_closes_half_and_tier_three_everything():
    two = adl_decide(ratio=D("0.93"), positions=POSITIONS, step_sizes=STEPS, last=None, now_ms=0)
    three = adl_decide(ratio=D("0.95"), positions=POSITIONS, step_sizes=STEPS, last=None, now_ms=0)
    assert two is not None and [(r.symbol, r.quantity) for r in two.reductions] == [("BTCUSDT", D("1.000"))]
    assert three is not None and {(r.symbol, r.quantity) for r in three.reductions} == {
        ("BTCUSDT", D("2.000")), ("ETHUSDT", D("10.000"))}


def test_the_same_tier_waits_for_the_cooldown_but_escalation_does_not():
    last = AdlMemory(level=1, at_ms=1_000)
    assert adl_decide(ratio=D("0.91"), positions=POSITIONS, step_sizes=STEPS, last=last, now_ms=2_000,
                      cooldown_ms=5_000) is None
    assert adl_decide(ratio=D("0.91"), positions=POSITIONS, step_sizes=STEPS, last=last, now_ms=6_000,
                      cooldown_ms=5_000) is not None
    escalated = adl_decide(ratio=D("0.93"), positions=POSITIONS, step_sizes=STEPS, last=last, now_ms=2_000,
                           cooldown_ms=5_000)
    assert escalated is not None and escalated.tier.level == 2
