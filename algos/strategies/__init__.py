"""Pluggable signal strategies: they decide, the OrderManager and the risk engine execute and guard."""
