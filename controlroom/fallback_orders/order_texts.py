"""The order a customer texts when the web shop is down, read without I/O.

::

    ORDER <pickup postcode> <delivery postcode> <size> [recipient's phone]
    ORDER 0155 0364 M                 a medium parcel from 0155 to 0364
    order 0155 to 0364 s +4791234567  and tell the recipient at that number
    HELP                              the grammar, sizes and prices

Reading forgives what thumbs do: any letter case, extra spaces, commas,
"to"/"from" between the postcodes, the size anywhere after the keyword,
full-width or other compatibility forms (Unicode NFKC), ``BESTILL`` (the
Norwegian word) for ORDER. A postcode is four digits (Norway); the size is
S, M or L (or the word); the recipient's number is international (+47...)
or a Norwegian mobile's eight digits.

A text that is no order raises :class:`OrderTextNotUnderstood`, whose
message is the reply to send back; nothing is stored for it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from controlroom.errors import FallbackOrderError
from controlroom.fallback_orders.terms import SIZES, ParcelSize, btc_amount


class OrderTextNotUnderstood(FallbackOrderError):
    """A customer's text is no order; the message is the reply to send."""


@dataclass(frozen=True)
class OrderText:
    """A customer's order, understood."""

    pickup_postcode: str
    delivery_postcode: str
    size: ParcelSize
    recipient_phone: str | None = None

    @property
    def canonical(self) -> str:
        """The order as one would type it plainly, to tell repeats apart."""
        phone = f" {self.recipient_phone}" if self.recipient_phone else ""
        return (
            f"ORDER {self.pickup_postcode} {self.delivery_postcode} "
            f"{self.size.value}{phone}"
        )


@dataclass(frozen=True)
class HelpAsked:
    """The customer asked how ordering works."""


ORDER_WORDS = frozenset({"ORDER", "ORDRE", "BESTILL", "BOOK"})
HELP_WORDS = frozenset({"HELP", "HJELP", "INFO", "PRICE", "PRICES", "PRIS"})
SIZE_WORDS: dict[str, ParcelSize] = {
    "S": ParcelSize.SMALL,
    "SMALL": ParcelSize.SMALL,
    "M": ParcelSize.MEDIUM,
    "MEDIUM": ParcelSize.MEDIUM,
    "L": ParcelSize.LARGE,
    "LARGE": ParcelSize.LARGE,
}
_FILLERS = frozenset({"TO", "FROM", "FRA", "TIL", "SIZE"})
GRAMMAR = "ORDER pickup-postcode delivery-postcode size(S/M/L) [recipient phone]"
EXAMPLE = "ORDER 0155 0364 M"
MAX_TEXT = 480  # three SMS segments; an order is far shorter

_POSTCODE = re.compile(r"[0-9]{4}", re.ASCII)
# Typed whole, anywhere; or with spaces in it, as the last thing in the text
# (else "+47 912 34 567" and the postcodes after it could not be told apart).
_COMPACT_NUMBER = re.compile(r"\+[1-9][0-9]{6,}(?![0-9])", re.ASCII)
_SPACED_NUMBER = re.compile(r"\+[1-9][0-9 ]{6,24}[0-9]\s*$", re.ASCII)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)
# Norwegian mobile numbers: eight digits starting with 4 or 9 (Nkom plan).
_NORWEGIAN_MOBILE = re.compile(r"[49][0-9]{7}", re.ASCII)
_SEPARATORS = re.compile(r"[\s,;/>]+|(?<=[0-9])-(?=[0-9])")


def price_list() -> str:
    """The sizes and prices in one line, as replies and the order page say."""
    return ", ".join(
        f"{terms.size.value} {btc_amount(terms.price_sat)} BTC"
        for terms in SIZES.values()
    )


def help_reply() -> str:
    """The reply to HELP, or to a text that is no order at all."""
    return f"To order send: {GRAMMAR}, e.g. {EXAMPLE}. Prices: {price_list()}."


def parse_order_text(raw: str) -> OrderText | HelpAsked:
    """Read a customer's text as an order, or raise with the reply to send.

    Raises
    ------
    OrderTextNotUnderstood
        The text is empty, too long, starts with an unknown word, or lacks
        or garbles the postcodes or the size. The message says what was
        wrong and how an order reads; nothing was ordered.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if len(text) > MAX_TEXT:
        raise OrderTextNotUnderstood(
            f"Your text is {len(text)} characters; an order is one short line. "
            f"{help_reply()}"
        )
    if not text:
        raise OrderTextNotUnderstood(f"Your text was empty. {help_reply()}")

    keyword, _, rest = text.partition(" ")
    keyword = keyword.upper()
    if keyword in HELP_WORDS:
        return HelpAsked()
    if keyword not in ORDER_WORDS:
        raise OrderTextNotUnderstood(_unknown_word(keyword))

    phone, rest = _take_phone(rest)
    postcodes: list[str] = []
    sizes: list[ParcelSize] = []
    for word in filter(None, _SEPARATORS.split(rest)):
        upper = word.upper()
        if _POSTCODE.fullmatch(word):
            postcodes.append(word)
        elif upper in SIZE_WORDS:
            sizes.append(SIZE_WORDS[upper])
        elif phone is None and _NORWEGIAN_MOBILE.fullmatch(word):
            phone = "+47" + word
        elif upper not in _FILLERS:
            raise OrderTextNotUnderstood(_stray_word(word))

    if len(postcodes) != 2:
        raise OrderTextNotUnderstood(
            f"Give two postcodes of 4 digits, pickup first, then delivery "
            f"(you gave {len(postcodes)}): {EXAMPLE}. Nothing was ordered."
        )
    if len(sizes) != 1:
        raise OrderTextNotUnderstood(
            f"Give one size: S, M or L ({price_list()}), e.g. {EXAMPLE}. "
            "Nothing was ordered."
        )
    return OrderText(postcodes[0], postcodes[1], sizes[0], phone)


def _take_phone(rest: str) -> tuple[str | None, str]:
    # An international number may be typed with spaces; take it out first
    # so its digit groups are not read as postcodes.
    match = _COMPACT_NUMBER.search(rest) or _SPACED_NUMBER.search(rest)
    if match is None:
        return None, rest
    phone = "".join(match.group().split())
    if not _E164.fullmatch(phone):
        raise OrderTextNotUnderstood(
            "The recipient's number is too long: give + and the country code, "
            f"then the number, at most 15 digits: {EXAMPLE} +4791234567. "
            "Nothing was ordered."
        )
    return phone, rest[: match.start()] + " " + rest[match.end() :]


def _unknown_word(keyword: str) -> str:
    close = difflib.get_close_matches(keyword, sorted(ORDER_WORDS | HELP_WORDS), n=1)
    # Suggest the word the help names, whichever spelling came closest.
    hint = ""
    if close:
        hint = f" Did you mean {'ORDER' if close[0] in ORDER_WORDS else 'HELP'}?"
    if all(char.isprintable() for char in keyword) and len(keyword) <= 12:
        return f"Start with ORDER, not '{keyword}'.{hint} {help_reply()}"
    return f"Start your text with ORDER.{hint} {help_reply()}"


def _stray_word(word: str) -> str:
    shown = f"'{word}'" if word.isprintable() and len(word) <= 16 else "a word"
    return (
        f"We could not read {shown}. Send {GRAMMAR}, e.g. {EXAMPLE}. "
        "Nothing was ordered."
    )
