"""Backtests: the live algo classes, OrderManager and FillRouter over the in-process matching core."""
