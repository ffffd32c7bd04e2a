"""Sub-accounts, instruments, orders, fills, positions and the ledger."""
