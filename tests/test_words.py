"""Counts said in plain English."""

from __future__ import annotations

import pytest

from controlroom.words import counted


@pytest.mark.parametrize(
    ("number", "expected"),
    [(0, "0 stops"), (1, "1 stop"), (2, "2 stops")],
)
def test_a_count_agrees_with_its_noun(number: int, expected: str) -> None:
    assert counted(number, "stop") == expected


def test_an_irregular_plural_is_given() -> None:
    assert counted(3, "parcel box", "parcel boxes") == "3 parcel boxes"
