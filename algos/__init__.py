"""Execution algos and strategies (built in their own issues)."""
