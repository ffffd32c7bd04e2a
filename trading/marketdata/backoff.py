"""Bounded exponential backoff with jitter, so many reconnecting tasks do not hit the exchange in step."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    base_s: float = 0.5
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (0-based): half fixed, half random, never above cap."""
        ceiling = min(self.cap_s, self.base_s * 2 ** min(attempt, 30))
        return ceiling / 2 + self.rng.random() * ceiling / 2
