"""The prediction-market lag signal: exchange momentum against an up/down window market's implied probability."""
