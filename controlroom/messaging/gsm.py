"""The GSM 7-bit default alphabet: which characters an SMS can carry, and at what cost.

The alphabet is that of 3GPP TS 23.038 (formerly GSM 03.38), clause 6.2.1,
with its extension table (6.2.1.1), whose characters are sent behind an
escape and so cost two septets. One segment holds 160 septets (TS 23.038
clause 6.1.2.1.1). Driver manifests use it today; the broadcast composer
builds its segmenting on it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

SEGMENT_SEPTETS = 160

# TS 23.038 table 6.2.1, read row by row from code 0x00; the escape at
# 0x1B is not a character of its own and is left out of the set.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

# Typography a phone keyboard or a word processor puts into addresses and
# notes, spelled with plain characters both alphabets have.
_TYPOGRAPHIC = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "…": "...", "•": "*", "·": "-",
}  # fmt: skip


def replace_outside(text: str, allowed: Callable[[str], bool]) -> str:
    """Spell ``text`` with allowed characters only, one substitute per char."""
    spelled = []
    for char in text:
        if allowed(char):
            spelled.append(char)
        elif char in _TYPOGRAPHIC:
            spelled.append(_TYPOGRAPHIC[char])
        elif char.isspace():
            spelled.append(" ")
        else:
            # Letters with accents the alphabet lacks lose the accent
            # (á -> a, ł stays unknown); anything else shows as "?" so the
            # reader sees that something was there.
            base = "".join(
                part
                for part in unicodedata.normalize("NFKD", char)
                if not unicodedata.combining(part)
            )
            fits = bool(base) and all(allowed(part) for part in base)
            spelled.append(base if fits else "?")
    return "".join(spelled)


def gsm_septets(text: str) -> int:
    """Count the septets ``text`` takes in the GSM 7-bit default alphabet.

    Raises
    ------
    ValueError
        If a character is in neither the basic set nor the extension table;
        the message names the first one and its position.
    """
    septets = 0
    for position, char in enumerate(text):
        if char in _GSM_BASIC:
            septets += 1
        elif char in _GSM_EXTENSION:
            septets += 2
        else:
            raise ValueError(
                f"{char!r} (U+{ord(char):04X}) at position {position} is not in "
                "the GSM 7-bit alphabet; pass the text through gsm_equivalent first."
            )
    return septets


def gsm_equivalent(text: str) -> str:
    """Return ``text`` spelled in the GSM 7-bit alphabet, one line long."""
    one_line = " ".join(text.split())
    return replace_outside(
        one_line, lambda char: char in _GSM_BASIC or char in _GSM_EXTENSION
    )


def is_gsm_character(char: str) -> bool:
    """Tell whether ``char`` is in the basic set or the extension table."""
    return char in _GSM_BASIC or char in _GSM_EXTENSION


def is_typographic(char: str) -> bool:
    """Tell whether ``char`` is typography with a plain GSM spelling (’ – …)."""
    return char in _TYPOGRAPHIC
