"""GSM 7-bit text as the octets an SMPP ``submit_sm`` carries.

With data_coding 0x00 an SMSC expects one septet per octet, unpacked; it
packs them for the air itself. Codes are those of 3GPP TS 23.038 table
6.2.1; the characters of the extension table (6.2.1.1) are sent as the
escape 0x1B followed by their code. smpplib has an encoder of its own, but
its table lacks ``§`` (0x5F) and puts a backtick in its place.
"""

from __future__ import annotations

from controlroom.errors import MessagingError

ESCAPE = 0x1B

# Table 6.2.1 read by code from 0x00; the escape at 0x1B is a placeholder.
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_CODES = {char: code for code, char in enumerate(_BASIC) if code != ESCAPE}
_EXTENSION = {
    "\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}  # fmt: skip


def gsm7_octets(text: str) -> bytes:
    """Return ``text`` as unpacked GSM 7-bit octets, escapes included.

    Raises
    ------
    MessagingError
        If a character is in neither table; plan the message with
        ``plan_sms`` first, which sends such text as UCS-2.
    """
    octets = bytearray()
    for position, char in enumerate(text):
        if char in _EXTENSION:
            octets += bytes([ESCAPE, _EXTENSION[char]])
        elif char in _CODES:
            octets.append(_CODES[char])
        else:
            raise MessagingError(
                f"{char!r} at position {position} is not in the GSM 7-bit "
                "alphabet; this text has to go out as UCS-2."
            )
    return bytes(octets)


_TEXT_OF = {code: char for char, code in _CODES.items()}
_EXTENSION_OF = {code: char for char, code in _EXTENSION.items()}


def gsm7_text(octets: bytes) -> str:
    """Read unpacked GSM 7-bit octets (one septet each) back as text.

    An escape before a code the extension table lacks stands for the basic
    character (TS 23.038 clause 6.2.1.1 note); a lone trailing escape, or
    an octet above 0x7F, reads as a space rather than failing the text.
    """
    chars = []
    escaped = False
    for octet in octets:
        if escaped:
            chars.append(_EXTENSION_OF.get(octet) or _TEXT_OF.get(octet, " "))
            escaped = False
        elif octet == ESCAPE:
            escaped = True
        else:
            chars.append(_TEXT_OF.get(octet, " "))
    if escaped:
        chars.append(" ")
    return "".join(chars)
