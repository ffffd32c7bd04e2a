"""Pure risk rules."""
