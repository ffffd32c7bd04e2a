"""The ensemble TA strategy: five sub-strategies voting on 15m and 5m bars, sized, limited and exited by rule."""

from algos.strategies.ensemble.strategy import EnsembleStrategy

STRATEGIES = [EnsembleStrategy]  # what the registry finds here
