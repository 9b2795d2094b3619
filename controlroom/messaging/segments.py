"""Splitting an SMS into the segments a phone will put back together.

The encoding is chosen per message as 3GPP TS 23.038 allows: the GSM 7-bit
default alphabet (clause 6.2.1, extension table 6.2.1.1) when every character
is in it, otherwise UCS-2 (clause 6.2.3), filled as UTF-16 so that characters
beyond the Basic Multilingual Plane (emoji) travel as surrogate pairs, the
way handsets send them.

One short message carries at most 140 octets of user data (TS 23.040
9.2.3.24): 160 septets or 70 UTF-16 code units. A concatenated message gives
6 of each segment's octets to the user data header with the concatenation
element (TS 23.040 9.2.3.24.1: header length, element id, element length,
reference, total, sequence number), leaving 134 octets: 153 septets once the
7-bit text is padded to a septet boundary, or 67 code units.

An extension character is sent as an escape septet followed by its code;
the pair is never split across segments, nor is a surrogate pair, because
the receiving phone decodes each segment on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from controlroom.errors import MessagingError, SmsTooLong
from controlroom.messaging.gsm import (
    SEGMENT_SEPTETS,
    gsm_septets,
    is_gsm_character,
    is_typographic,
    replace_outside,
)
from controlroom.words import counted

# A broadcast longer than this is a letter, not a text message, and each
# segment is billed per recipient; a manager may pass a lower limit.
MAX_SEGMENTS = 10


class Encoding(StrEnum):
    """How a message's characters are coded on the air."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class _Limits:
    single: int
    multipart: int
    unit: str


_LIMITS = {
    Encoding.GSM7: _Limits(SEGMENT_SEPTETS, 153, "septet"),
    Encoding.UCS2: _Limits(70, 67, "UTF-16 code unit"),
}


@dataclass(frozen=True)
class Segment:
    """One short message of a plan: its text and the units it takes."""

    text: str
    units: int


@dataclass(frozen=True)
class SmsPlan:
    """A message's encoding and its segments, ready to show or to send.

    ``units`` are septets for GSM-7 and UTF-16 code units for UCS-2.
    ``ucs2_character`` is the first character that rules out GSM-7, so the
    composer can say why a message costs more than it looks.
    """

    text: str
    encoding: Encoding
    segments: tuple[Segment, ...]
    ucs2_character: str | None = None

    @property
    def segment_count(self) -> int:
        """How many short messages each recipient is billed for."""
        return len(self.segments)

    @property
    def units(self) -> int:
        """Septets or code units over all segments."""
        return sum(segment.units for segment in self.segments)

    @property
    def unit_name(self) -> str:
        """What ``units`` counts, in the plural: septets or code units."""
        return f"{_LIMITS[self.encoding].unit}s"

    @property
    def units_left(self) -> int:
        """Room left in the last segment before another one is needed."""
        limits = _LIMITS[self.encoding]
        room = limits.single if self.segment_count == 1 else limits.multipart
        return room - self.segments[-1].units


@dataclass(frozen=True)
class GsmOffer:
    """A GSM-7 spelling of a UCS-2 message and what it saves."""

    text: str
    segments_now: int
    segments_offered: int

    @property
    def segments_saved(self) -> int:
        """Segments fewer per recipient when the offer is taken."""
        return self.segments_now - self.segments_offered


def plan_sms(text: str, *, max_segments: int = MAX_SEGMENTS) -> SmsPlan:
    """Choose the encoding of ``text`` and split it into segments.

    Raises
    ------
    MessagingError
        If the text is empty or holds a broken character (a lone surrogate).
    SmsTooLong
        If it needs more than ``max_segments`` segments; the message says
        how much to cut and whether a GSM-7 spelling would fit.
    """
    if not text.strip():
        raise MessagingError(
            "The message is empty; write the text the recipients should read."
        )

    plan = _plan(text)

    if plan.segment_count > max_segments:
        raise SmsTooLong(
            _too_long_message(plan, max_segments),
            segments=plan.segment_count,
            limit=max_segments,
        )
    return plan


def offer_gsm(text: str) -> GsmOffer | None:
    """Offer ``text`` spelled in GSM-7 when only typography keeps it UCS-2.

    Typographic quotes, dashes, ellipses and unusual spaces have plain
    GSM-7 spellings. Returns None when the text is GSM-7 already, when
    another character (an emoji, a Cyrillic letter) has no GSM-7 form, or
    when the plain spelling would need more segments (``…`` becomes three
    septets).
    """
    if all(is_gsm_character(char) for char in text):
        return None
    if not all(
        is_gsm_character(char) or is_typographic(char) or char.isspace()
        for char in text
    ):
        return None

    plain = replace_outside(text, is_gsm_character)
    now = _plan(text).segment_count
    offered = _plan(plain).segment_count

    if offered > now:
        return None
    return GsmOffer(text=plain, segments_now=now, segments_offered=offered)


def gsm_suggestion(text: str) -> str | None:
    """Return the GSM-7 spelling ``offer_gsm`` offers, or None."""
    offer = offer_gsm(text)
    return None if offer is None else offer.text


def sms_cost(plan: SmsPlan, price_per_segment: int, *, recipients: int = 1) -> int:
    """Price a plan in the currency's minor unit (øre, cents): no floats.

    Raises
    ------
    MessagingError
        If the price or the number of recipients is not a whole,
        non-negative number.
    """
    for name, value in (
        ("price per segment", price_per_segment),
        ("number of recipients", recipients),
    ):
        # bool is an int to Python, but True øre is a typing slip.
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise MessagingError(
                f"The {name} must be a whole number of øre or cents, zero or "
                f"more; got {value!r}."
            )
    return plan.segment_count * price_per_segment * recipients


def _plan(text: str) -> SmsPlan:
    encoding, ucs2_character = _encoding_of(text)
    costs = [_units_of(char, encoding, position) for position, char in enumerate(text)]
    limits = _LIMITS[encoding]
    room = limits.single if sum(costs) <= limits.single else limits.multipart

    segments: list[Segment] = []
    start = used = 0
    for position, cost in enumerate(costs):
        # Each character (escape pair, surrogate pair) moves whole to the
        # next segment rather than being cut.
        if used + cost > room:
            segments.append(Segment(text[start:position], used))
            start, used = position, 0
        used += cost
    segments.append(Segment(text[start:], used))

    return SmsPlan(text, encoding, tuple(segments), ucs2_character)


def _encoding_of(text: str) -> tuple[Encoding, str | None]:
    for char in text:
        if not is_gsm_character(char):
            return Encoding.UCS2, char
    return Encoding.GSM7, None


def _units_of(char: str, encoding: Encoding, position: int) -> int:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        raise MessagingError(
            f"The character at position {position} (U+{code:04X}) is half of "
            "a broken emoji or symbol; delete it and type the symbol again."
        )
    if encoding is Encoding.UCS2:
        return 2 if code > 0xFFFF else 1
    return gsm_septets(char)


def _too_long_message(plan: SmsPlan, limit: int) -> str:
    limits = _LIMITS[plan.encoding]
    # Escape pairs pushed to the next segment can waste a septet or two, so
    # the cut is a lower bound and never less than one unit.
    cut = max(plan.units - limit * limits.multipart, 1)
    message = (
        f"The message needs {counted(plan.segment_count, 'SMS segment')} in "
        f"{plan.encoding}; the limit is {limit}. Shorten it by at "
        f"least {counted(cut, limits.unit)}."
    )
    if plan.ucs2_character is not None:
        message += (
            f" It is sent as UCS-2 because of {plan.ucs2_character!r}, which "
            "halves the room per segment."
        )
    offer = offer_gsm(plan.text)
    if offer is not None and offer.segments_offered <= limit:
        message += (
            " Replacing the typographic quotes and dashes with plain ones "
            f"makes it fit in {counted(offer.segments_offered, 'segment')}."
        )
    return message
