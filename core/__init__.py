"""Framework-free helpers every layer may import: clock, money, errors."""
