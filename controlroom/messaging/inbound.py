"""Texts sent to us from handsets (mobile-originated), as an SMSC hands them over.

An SMSC delivers a handset's text in a ``deliver_sm`` whose esm_class has
no receipt bit (SMPP 3.4 section 5.2.12). The text is in ``short_message``
or, when longer, in the ``message_payload`` TLV (section 5.3.2.32), coded
as data_coding says (section 5.2.19): 0x00 the GSM 7-bit default alphabet
one septet per octet, 0x01 IA5 (ASCII), 0x03 Latin-1, 0x08 UCS-2 read as
UTF-16-BE so emoji survive. A long text comes in parts, each with a user
data header (UDHI, esm_class 0x40) holding the concatenation element of
TS 23.040 9.2.3.24.1 (8-bit reference) or 9.2.3.24.8 (16-bit reference);
:class:`Reassembly` puts the parts back together, in any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controlroom.messaging.gsm_octets import gsm7_text

ESM_CLASS_UDHI = 0x40
TON_INTERNATIONAL = 1
_CONCAT_8BIT = 0x00
_CONCAT_16BIT = 0x08


@dataclass(frozen=True)
class InboundText:
    """One whole text from a handset.

    ``phone`` is in E.164 form (``+4791234567``) when the SMSC marked the
    sender as international, else as the SMSC wrote it.
    """

    phone: str
    text: str
    received_at: datetime


@dataclass(frozen=True)
class Part:
    """One segment of a concatenated text: which message, which of how many."""

    reference: int
    total: int
    number: int


def sender_number(address: str, ton: int) -> str:
    """The sender as E.164 when its type of number is international."""
    digits = address.strip()
    if ton == TON_INTERNATIONAL and digits and not digits.startswith("+"):
        return "+" + digits
    return digits


def split_user_data(payload: bytes, *, udhi: bool) -> tuple[Part | None, bytes]:
    """Split a user data header off ``payload``; return its concatenation part.

    A header without a concatenation element (or no header) gives ``None``.
    """
    if not udhi or not payload:
        return None, payload
    length = payload[0]
    header, body = payload[1 : 1 + length], payload[1 + length :]
    position = 0
    while position + 2 <= len(header):
        element, size = header[position], header[position + 1]
        value = header[position + 2 : position + 2 + size]
        if element == _CONCAT_8BIT and size == 3:
            return Part(value[0], value[1], value[2]), body
        if element == _CONCAT_16BIT and size == 4:
            return Part(value[0] << 8 | value[1], value[2], value[3]), body
        position += 2 + size
    return None, body


def decode_text(payload: bytes, data_coding: int) -> str:
    """Read a text's octets as its data_coding says (SMPP 3.4 section 5.2.19)."""
    if data_coding == 0x00:
        return gsm7_text(payload)
    if data_coding == 0x08:
        return payload.decode("utf-16-be", errors="replace")
    if data_coding == 0x01:
        return payload.decode("ascii", errors="replace")
    return payload.decode("latin-1")


class Reassembly:
    """Holds the parts of concatenated texts until each text is whole."""

    def __init__(self) -> None:
        self._parts: dict[tuple[str, int, int], dict[int, bytes]] = {}

    def add(self, phone: str, part: Part, payload: bytes) -> bytes | None:
        """Keep one part; return the whole payload once every part is in."""
        key = (phone, part.reference, part.total)
        parts = self._parts.setdefault(key, {})
        parts[part.number] = payload
        if len(parts) < part.total:
            return None
        del self._parts[key]
        return b"".join(parts[number] for number in sorted(parts))

    @property
    def waiting(self) -> int:
        """How many texts still miss a part."""
        return len(self._parts)
