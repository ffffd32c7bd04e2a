"""Exchange venues: the Venue port and its implementations (the only place that imports ccxt)."""
