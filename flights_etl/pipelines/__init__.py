"""Pipeline definitions: wiring only, one pipeline per module."""
