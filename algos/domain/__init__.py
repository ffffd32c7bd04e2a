"""Pure algo decision logic."""
