"""Risk: limits, pre-trade checks, margin, auto-deleverage, circuit breakers (built in its own issue)."""
