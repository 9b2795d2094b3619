"""Small pieces of plain English every capability's messages share."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """Return ``"1 stop"`` or ``"3 stops"``: a count with its noun agreeing."""
    word = noun if number == 1 else (plural or f"{noun}s")
    return f"{number} {word}"
