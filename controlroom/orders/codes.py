"""Package codes: random, unguessable and easy to read out, type and text.

A code is 11 random symbols of Douglas Crockford's base32 alphabet (55 bits,
drawn with :mod:`secrets`) followed by one check symbol, shown in groups of
four: ``7KQ2-9XWM-4TCZ``. The check symbol is Crockford's: the value modulo
37. Because 37 is prime and larger than the base, it catches every single
wrong symbol and every swap of two neighbours. Codes whose check value would
need one of Crockford's five extra check symbols (``*~$=U``) are drawn again,
so every code is plain letters and digits; that costs 0.2 of the 55 bits.

Reading a code forgives what people do: lower case, spaces and hyphens, and
the letters O, I and L typed for the digits 0 and 1 (Crockford's decoding
rules). See https://www.crockford.com/base32.html.
"""

from __future__ import annotations

import secrets

from controlroom.errors import PackageCodeError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_SYMBOLS = 11
CODE_LENGTH = DATA_SYMBOLS + 1
RANDOM_BITS = 5 * DATA_SYMBOLS
CHECK_MODULUS = 37

_VALUES = {symbol: value for value, symbol in enumerate(ALPHABET)}
_CONFUSABLES = {"O": "0", "I": "1", "L": "1"}
# Separators people (and phones' keyboards) put between the groups: spaces,
# hyphens and dashes of every width, invisible joiners. The status site's
# script reads codes with the same set (assets/site.js).
_IGNORED = set(" -\t.\u00a0\u2009\u202f\u200b\u2010\u2011\u2012\u2013\u2014\u2212")


def _check_value(number: int) -> int:
    return number % CHECK_MODULUS


def _encode(number: int, length: int) -> str:
    symbols = []
    for _ in range(length):
        number, value = divmod(number, 32)
        symbols.append(ALPHABET[value])
    return "".join(reversed(symbols))


def new_package_code() -> str:
    """Draw a new package code in its display form, e.g. ``7KQ2-9XWM-4TCZ``."""
    while True:
        number = secrets.randbits(RANDOM_BITS)
        check = _check_value(number)
        if check < len(ALPHABET):
            return format_code(_encode(number, DATA_SYMBOLS) + ALPHABET[check])


def format_code(compact: str) -> str:
    """Group a compact 12-symbol code in fours with hyphens."""
    return "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def normalise_code(raw: str) -> str:
    """Return the compact form of what a person typed, or raise why not.

    Raises
    ------
    PackageCodeError
        If a symbol is not part of the alphabet, the length is wrong, or the
        check symbol shows a typo.
    """
    compact = []
    for char in raw.strip().upper():
        if char in _IGNORED:
            continue
        char = _CONFUSABLES.get(char, char)
        if char not in _VALUES:
            shown = f"'{char}'" if char.isprintable() else repr(char)
            raise PackageCodeError(
                f"{shown} does not occur in package codes: they use the digits "
                "0-9 and the letters A-Z without I, L, O and U.",
                code=raw,
            )
        compact.append(char)

    if len(compact) != CODE_LENGTH:
        raise PackageCodeError(
            f"A package code has {CODE_LENGTH} letters and digits (like "
            f"7KQ2-9XWM-4TCZ); this one has {len(compact)}.",
            code=raw,
        )

    number = 0
    for char in compact[:DATA_SYMBOLS]:
        number = number * 32 + _VALUES[char]
    if _VALUES[compact[-1]] != _check_value(number):
        raise PackageCodeError(
            "This package code has a typo: one letter or digit is wrong or two "
            "are swapped. Please check it against the receipt.",
            code=raw,
        )
    return "".join(compact)


def parse_code(raw: str) -> str:
    """Return the display form of a typed code, raising if it is not valid."""
    return format_code(normalise_code(raw))


def is_valid_code(raw: str) -> bool:
    """Tell whether ``raw`` reads as a valid package code."""
    try:
        normalise_code(raw)
    except PackageCodeError:
        return False
    return True
