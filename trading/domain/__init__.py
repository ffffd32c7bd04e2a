"""Pure trading rules: no framework, no I/O, no clock reads."""
