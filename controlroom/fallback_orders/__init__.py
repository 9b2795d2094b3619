"""Fallback order channels: the spool, SMS ordering, the order page, merge back."""
