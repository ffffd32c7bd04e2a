"""Algo runners: the pure decisions of algos.domain driven by ticks, acting through the OrderManager."""
