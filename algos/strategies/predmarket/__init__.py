"""The prediction-market lag signal: exchange momentum against an up/down window market's implied probability."""

from algos.strategies.predmarket.strategy import PredictionMarketLag

STRATEGIES = [PredictionMarketLag]  # what the registry finds here
