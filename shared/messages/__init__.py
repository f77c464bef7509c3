"""Bus messages, one module per service, plus ``events`` (a tagged union)."""
