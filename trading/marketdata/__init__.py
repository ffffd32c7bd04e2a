"""Market data: the feed worker's logic and the engine's MarketDataService (L1 cache, price cascade)."""
