"""The API tests' desk (two operators, three sub-accounts) for pages and websockets."""

from trading.tests.api.conftest import _fresh_throttle_history, client_for, desk

__all__ = ["_fresh_throttle_history", "client_for", "desk"]
