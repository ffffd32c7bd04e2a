"""Strategy backtests: the strategy's own code over recorded klines, the live OrderManager and RiskEngine over the
in-process matching core on a virtual clock, optional chaos, analytics, charts and stored results."""
