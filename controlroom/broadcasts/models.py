"""Broadcast tables (being built)."""
