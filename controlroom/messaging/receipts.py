"""SMPP delivery receipts: what an SMSC says became of a message we sent.

An SMSC reports a message's fate in a ``deliver_sm`` whose short_message
carries the de-facto receipt text of SMPP 3.4 Appendix B::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done
    date:YYMMDDhhmm stat:DDDDDDD err:E text: . . .

and, from SMPP 3.4 on, the optional TLVs ``receipted_message_id`` (0x001E,
section 5.3.2.12) and ``message_state`` (0x0427, section 5.3.2.35). SMSCs
bend the text freely, so fields are read in any order and case, with extra
spaces and missing fields; whatever cannot be read for sure raises
``MessagingError`` rather than being guessed.

The message id is the one snag: SMPP 3.3 SMSCs answer ``submit_sm_resp``
with a hex id and many still write the receipt text in (zero-padded)
decimal, others the other way round. ``explain_match`` tries every reading
and refuses to pick when more than one sent message fits.
"""

from __future__ import annotations

import enum
import logging
import re
import string
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from controlroom.errors import MessagingError

logger = logging.getLogger(__name__)

RECEIPTED_MESSAGE_ID = 0x001E
MESSAGE_STATE = 0x0427


class Outcome(enum.StrEnum):
    """What a receipt means for the message: final or not yet."""

    DELIVERED = "delivered"
    FAILED = "failed"
    PENDING = "pending"


class IdSource(enum.StrEnum):
    """Where in the ``deliver_sm`` the receipt's message id was found."""

    TLV = "receipted_message_id TLV"
    TEXT = "receipt text"


class IdForm(enum.StrEnum):
    """A way the receipt text may spell the id ``submit_sm_resp`` gave us."""

    AS_SENT = "as sent"
    DECIMAL_OF_HEX = "decimal of the hex id"
    HEX_OF_DECIMAL = "hex of the decimal id"


# Appendix B stat words, plus the spelled-out names some SMSCs write.
# ACCEPTD is final in SMPP 3.4 (read to the subscriber by customer
# service), but nobody has seen the message arrive, so it stays pending.
_STAT_OUTCOMES = {
    "DELIVRD": Outcome.DELIVERED,
    "DELIVERED": Outcome.DELIVERED,
    "UNDELIV": Outcome.FAILED,
    "UNDELIVERABLE": Outcome.FAILED,
    "REJECTD": Outcome.FAILED,
    "REJECTED": Outcome.FAILED,
    "EXPIRED": Outcome.FAILED,
    "DELETED": Outcome.FAILED,
    "ACCEPTD": Outcome.PENDING,
    "ACCEPTED": Outcome.PENDING,
    "ENROUTE": Outcome.PENDING,
    "UNKNOWN": Outcome.PENDING,
}

# message_state values, SMPP 3.4 section 5.2.28; 0 SCHEDULED and
# 9 SKIPPED (accepted but never transmitted) come from SMPP 5.0.
_STATE_NAMES = {
    0: "SCHEDULED",
    1: "ENROUTE",
    2: "DELIVERED",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIVERABLE",
    6: "ACCEPTED",
    7: "UNKNOWN",
    8: "REJECTED",
    9: "SKIPPED",
}
_STATE_OUTCOMES = {
    **_STAT_OUTCOMES,
    "SCHEDULED": Outcome.PENDING,
    "SKIPPED": Outcome.FAILED,
}

# Everything after "text:" is the start of our own message and may contain
# anything, "stat:" included, so keys are only looked for before it.
_TEXT_KEY = re.compile(r"(?i)\btext\s*:")
_KEY = re.compile(r"(?i)\b(id|sub|dlvrd|submit[\s_]*date|done[\s_]*date|stat|err)\s*:")
_HEX = frozenset(string.hexdigits)
_DECIMAL = frozenset(string.digits)


@dataclass(frozen=True)
class Receipt:
    """One delivery receipt as read from a ``deliver_sm``.

    ``message_id`` is as the SMSC gave it; ``stat`` is the state word (from
    the TLV when there is one); times are timezone-aware UTC.
    """

    message_id: str
    id_source: IdSource
    stat: str
    outcome: Outcome
    error_code: str | None = None
    submitted_at: datetime | None = None
    done_at: datetime | None = None
    text: str | None = None


@dataclass(frozen=True)
class ReceiptMatch:
    """The sent message a receipt belongs to, or why none could be named."""

    receipt: Receipt
    sent_id: str | None
    reason: str
    candidates: tuple[str, ...] = ()

    @property
    def matched(self) -> bool:
        """Whether exactly one sent message fits the receipt."""
        return self.sent_id is not None


def parse_receipt(
    short_message: bytes | str,
    tlvs: Mapping[int, bytes],
    *,
    smsc_zone: tzinfo = UTC,
) -> Receipt:
    """Read a delivery receipt from a ``deliver_sm``.

    Parameters
    ----------
    short_message
        The PDU's short_message. Bytes are read as Latin-1: the receipt's
        keys and values are ASCII in both Latin-1 and the unpacked GSM 7-bit
        alphabet, so only the free ``text`` may show odd characters.
    tlvs
        The PDU's optional parameters by tag; ``receipted_message_id`` and
        ``message_state`` are used when present and win over the text.
    smsc_zone
        The zone the SMSC writes its zone-less dates in. Appendix B gives
        none; we read them as UTC unless the gateway says otherwise.

    Returns
    -------
    Receipt
        The id as given, its source, the state and its outcome.

    Raises
    ------
    MessagingError
        No id, no state, an unknown state, a state that contradicts the
        TLV, a repeated field, an unreadable date or a malformed TLV.
    """
    text = _as_text(short_message)
    fields, free_text = _fields(text)

    tlv_id = _tlv_message_id(tlvs)
    if tlv_id is not None:
        message_id, source = tlv_id, IdSource.TLV
    elif fields.get("id"):
        message_id, source = fields["id"], IdSource.TEXT
    else:
        raise MessagingError(
            f"Delivery receipt {text[:60]!r} names no message id, neither in "
            "the receipted_message_id TLV nor as 'id:' in its text; it cannot "
            "be matched to a message."
        )

    stat, outcome = _state(fields.get("stat"), tlvs)

    return Receipt(
        message_id=message_id,
        id_source=source,
        stat=stat,
        outcome=outcome,
        error_code=fields.get("err") or None,
        submitted_at=_receipt_time(fields.get("submitdate"), smsc_zone),
        done_at=_receipt_time(fields.get("donedate"), smsc_zone),
        text=free_text,
    )


def match_receipt(receipt: Receipt, sent_ids: Collection[str]) -> str | None:
    """Name the sent message id a receipt belongs to, or None if unsure."""
    found = explain_match(receipt, sent_ids)
    if not found.matched:
        logger.info(
            "receipt unmatched message_id=%s reason=%s",
            receipt.message_id,
            found.reason,
        )
    return found.sent_id


def explain_match(
    receipt: Receipt,
    sent_ids: Collection[str],
    *,
    text_id_forms: Collection[IdForm] = tuple(IdForm),
) -> ReceiptMatch:
    """Match a receipt to the ids our ``submit_sm_resp``s gave, with a reason.

    Parameters
    ----------
    receipt
        A parsed receipt.
    sent_ids
        Message ids from ``submit_sm_resp``, exactly as the SMSC gave them.
    text_id_forms
        The spellings a text id may take. A gateway that knows its SMSC's
        habit narrows this and so avoids needless ambiguity. An id from the
        TLV is by definition the ``submit_sm_resp`` id, so it is only ever
        compared as sent.

    Returns
    -------
    ReceiptMatch
        ``sent_id`` set when exactly one sent id fits; otherwise None, with
        the reason and every candidate, so the receipt can be shown but is
        never counted.
    """
    forms = (
        (IdForm.AS_SENT,) if receipt.id_source is IdSource.TLV else tuple(text_id_forms)
    )
    fits: dict[str, list[IdForm]] = {}
    for sent_id in sent_ids:
        for form in forms:
            if _same_id(receipt.message_id, sent_id, form):
                fits.setdefault(sent_id, []).append(form)

    if not fits:
        return ReceiptMatch(
            receipt,
            None,
            f"no sent message has id {receipt.message_id!r} "
            f"(from the {receipt.id_source}) in any of its spellings",
        )
    if len(fits) > 1:
        readings = "; ".join(
            f"{sent_id!r} ({', '.join(ways)})" for sent_id, ways in fits.items()
        )
        return ReceiptMatch(
            receipt,
            None,
            f"id {receipt.message_id!r} fits more than one sent message: "
            f"{readings}; not guessing",
            tuple(fits),
        )

    [(sent_id, how)] = fits.items()
    return ReceiptMatch(receipt, sent_id, f"matched {how[0]}", (sent_id,))


def _as_text(short_message: bytes | str) -> str:
    if isinstance(short_message, bytes):
        # Latin-1 maps every byte, so decoding cannot fail; see parse_receipt.
        short_message = short_message.decode("latin-1")
    return short_message.strip("\x00").strip()


def _fields(text: str) -> tuple[dict[str, str], str | None]:
    if not text:
        # SMPP 3.4 lets the TLVs carry the whole receipt.
        return {}, None

    text_key = _TEXT_KEY.search(text)
    head = text if text_key is None else text[: text_key.start()]
    free_text = None if text_key is None else text[text_key.end() :].strip()

    keys = list(_KEY.finditer(head))
    if not keys:
        raise MessagingError(
            f"{text[:60]!r} is not a delivery receipt: none of id, stat, err, "
            "sub, dlvrd, submit date or done date appear in it."
        )

    fields: dict[str, str] = {}
    for key, after in zip(keys, [*keys[1:], None], strict=True):
        name = re.sub(r"[\s_]+", "", key.group(1)).lower()
        end = len(head) if after is None else after.start()
        if name in fields:
            raise MessagingError(
                f"Delivery receipt {text[:60]!r} gives '{key.group(1)}' twice; "
                "it is unclear which to believe."
            )
        fields[name] = head[key.end() : end].strip()
    return fields, free_text


def _tlv_message_id(tlvs: Mapping[int, bytes]) -> str | None:
    raw = tlvs.get(RECEIPTED_MESSAGE_ID)
    if raw is None:
        return None
    try:
        # A C-Octet String: ASCII, ended by a NUL that some SMSCs omit.
        value = raw.rstrip(b"\x00").decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise MessagingError(
            f"The receipted_message_id TLV {raw!r} is not ASCII text; the "
            "SMSC sent a malformed delivery receipt."
        ) from exc
    return value or None


def _state(stat_text: str | None, tlvs: Mapping[int, bytes]) -> tuple[str, Outcome]:
    text_stat = stat_text.upper() if stat_text else None
    raw = tlvs.get(MESSAGE_STATE)

    if raw is None:
        if text_stat is None:
            raise MessagingError(
                "Delivery receipt has neither 'stat:' in its text nor a "
                "message_state TLV; the message's fate is unknown."
            )
        if text_stat not in _STAT_OUTCOMES:
            raise MessagingError(
                f"Delivery receipt state 'stat:{stat_text}' is not one we know "
                f"({', '.join(_STAT_OUTCOMES)}); the message's fate is unknown."
            )
        return text_stat, _STAT_OUTCOMES[text_stat]

    if len(raw) != 1 or raw[0] not in _STATE_NAMES:
        raise MessagingError(
            f"The message_state TLV {raw!r} is not a one-octet state of "
            "SMPP 3.4 or 5.0; the SMSC sent a malformed delivery receipt."
        )
    tlv_stat = _STATE_NAMES[raw[0]]
    outcome = _STATE_OUTCOMES[tlv_stat]

    # The TLV is the standard's own field, so a vendor's stat word we do not
    # know is let pass; a known word that disagrees is a broken SMSC.
    text_outcome = _STAT_OUTCOMES.get(text_stat or "")
    if text_outcome is not None and text_outcome is not outcome:
        raise MessagingError(
            f"Delivery receipt says 'stat:{stat_text}' in its text but "
            f"{tlv_stat} in its message_state TLV; the SMSC contradicts itself."
        )
    return tlv_stat, outcome


def _receipt_time(value: str | None, zone: tzinfo) -> datetime | None:
    if not value:
        return None

    # YYMMDDhhmm per Appendix B; many SMSCs append seconds. Two-digit years
    # are read as 20YY (strptime's %y would put 69-99 in the 1900s).
    layouts = {10: "%Y%m%d%H%M", 12: "%Y%m%d%H%M%S"}
    layout = layouts.get(len(value)) if _is_decimal(value) else None
    problem = MessagingError(
        f"Delivery receipt date {value!r} is not YYMMDDhhmm or "
        "YYMMDDhhmmss; check what the SMSC sends."
    )
    if layout is None:
        raise problem
    try:
        read = datetime.strptime(f"20{value}", layout)
    except ValueError as exc:
        raise problem from exc
    return read.replace(tzinfo=zone).astimezone(UTC)


def _same_id(receipt_id: str, sent_id: str, form: IdForm) -> bool:
    given, sent = receipt_id.strip(), sent_id.strip()
    if form is IdForm.AS_SENT:
        # Numeric ids compare by value, so zero padding and the case of hex
        # letters do not matter; anything else compares as text.
        if _is_hex(given) and _is_hex(sent):
            return int(given, 16) == int(sent, 16)
        return given.casefold() == sent.casefold()
    if form is IdForm.DECIMAL_OF_HEX:
        return _is_decimal(given) and _is_hex(sent) and int(given) == int(sent, 16)
    return _is_hex(given) and _is_decimal(sent) and int(given, 16) == int(sent)


def _is_hex(value: str) -> bool:
    return bool(value) and set(value) <= _HEX


def _is_decimal(value: str) -> bool:
    # str.isdigit would let superscripts and other scripts' digits in.
    return bool(value) and set(value) <= _DECIMAL
