"""The engine: OrderManager, fill routing and commands over the Venue and Journal ports."""
