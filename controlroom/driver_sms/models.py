"""Driver SMS tables (being built)."""
