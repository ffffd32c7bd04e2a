"""The strategy runtime: the runner every strategy runs in, its registry, isolation, bars and metrics."""
