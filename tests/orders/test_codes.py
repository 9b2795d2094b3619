"""Package codes: unguessable, forgiving to read, strict about typos."""

from __future__ import annotations

import random
import re

import pytest

from controlroom.errors import PackageCodeError
from controlroom.orders import codes
from controlroom.orders.codes import (
    ALPHABET,
    CODE_LENGTH,
    RANDOM_BITS,
    format_code,
    is_valid_code,
    new_package_code,
    normalise_code,
    parse_code,
)

DISPLAY_FORM = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-Z]{4}$")


@pytest.fixture(scope="module")
def sample_codes() -> list[str]:
    """Forty codes in compact form, drawn from a seeded generator."""
    drawn = random.Random(41218)
    compact = []
    while len(compact) < 40:
        number = drawn.getrandbits(RANDOM_BITS)
        check = number % codes.CHECK_MODULUS
        if check < len(ALPHABET):
            compact.append(codes._encode(number, codes.DATA_SYMBOLS) + ALPHABET[check])
    return compact


def test_a_code_has_twelve_symbols_in_groups_of_four() -> None:
    code = new_package_code()

    assert DISPLAY_FORM.match(code)
    assert len(code.replace("-", "")) == CODE_LENGTH == 12


def test_a_code_carries_at_least_fifty_random_bits() -> None:
    assert RANDOM_BITS >= 50
    assert len(ALPHABET) == 32
    assert codes.DATA_SYMBOLS * 5 == RANDOM_BITS
    assert codes.CHECK_MODULUS == 37


def test_the_alphabet_leaves_out_the_confusable_letters() -> None:
    assert not set("ILOU") & set(ALPHABET)


def test_new_codes_read_back_as_themselves() -> None:
    for _ in range(200):
        code = new_package_code()
        assert parse_code(code) == code


@pytest.mark.parametrize(
    "typed",
    [
        "{code}",
        "{lower}",
        "  {spaced}  ",
        "{compact}",
        "{compact_lower}",
        "{dotted}",
    ],
)
def test_what_people_type_is_normalised(typed: str) -> None:
    code = "7KQ2-9XWM-4TC" + _check_symbol("7KQ29XWM4TC")
    compact = code.replace("-", "")
    text = typed.format(
        code=code,
        lower=code.lower(),
        spaced=" ".join(compact[i : i + 3] for i in range(0, 12, 3)),
        compact=compact,
        compact_lower=compact.lower(),
        dotted=compact[:6] + "." + compact[6:],
    )

    assert normalise_code(text) == compact
    assert parse_code(text) == code


def _check_symbol(data: str) -> str:
    number = 0
    for char in data:
        number = number * 32 + ALPHABET.index(char)
    return ALPHABET[number % 37]


def test_o_i_and_l_are_read_as_zero_and_one() -> None:
    check = _check_symbol("10000000011")

    typed = "L0O0-oOOO-0Il" + check.lower()

    assert normalise_code(typed) == "10000000011" + check


def test_every_single_wrong_symbol_is_a_typo(sample_codes: list[str]) -> None:
    for compact in sample_codes:
        for position in range(CODE_LENGTH):
            for symbol in ALPHABET:
                if symbol == compact[position]:
                    continue
                typo = compact[:position] + symbol + compact[position + 1 :]
                with pytest.raises(PackageCodeError, match="has a typo"):
                    normalise_code(typo)


def test_every_swap_of_neighbours_is_a_typo(sample_codes: list[str]) -> None:
    swaps = 0
    for compact in sample_codes:
        for position in range(CODE_LENGTH - 1):
            left, right = compact[position], compact[position + 1]
            if left == right:
                continue
            swapped = compact[:position] + right + left + compact[position + 2 :]
            with pytest.raises(PackageCodeError, match="has a typo"):
                normalise_code(swapped)
            swaps += 1

    assert swaps > 400


@pytest.mark.parametrize("length", [0, 1, 11, 13, 20])
def test_a_wrong_length_says_how_many_symbols_a_code_has(length: int) -> None:
    with pytest.raises(PackageCodeError, match=f"12 letters.*this one has {length}"):
        normalise_code("7" * length)


@pytest.mark.parametrize("foreign", ["U", "*", "Ø", "!", "#"])
def test_a_foreign_character_is_named(foreign: str) -> None:
    with pytest.raises(PackageCodeError, match=f"'{re.escape(foreign)}' does not"):
        normalise_code("7KQ2-9XWM-4T" + foreign + "8")


def test_an_invisible_character_is_shown_escaped() -> None:
    with pytest.raises(PackageCodeError, match=r"'\\x00' does not occur") as error:
        normalise_code("7KQ2\x009XWM4TC8")

    assert error.value.code == "7KQ2\x009XWM4TC8"


def test_validity_is_told_without_raising() -> None:
    assert is_valid_code(new_package_code())
    assert not is_valid_code("7KQ2-9XWM-4TC")


def test_format_groups_a_compact_code() -> None:
    assert format_code("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"


def test_a_million_codes_do_not_collide() -> None:
    drawn = {new_package_code() for _ in range(1_000_000)}

    assert len(drawn) == 1_000_000
