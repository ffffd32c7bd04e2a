"""Reconciliation: the exchange is the authority on what it holds; PostgreSQL is brought to agree, exactly once."""
