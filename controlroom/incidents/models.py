"""Incident tables (being built)."""
