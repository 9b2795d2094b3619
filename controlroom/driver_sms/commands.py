"""The commands drivers text from the dedicated phone, read without I/O.

When the driver app is down, a driver texts one short command per parcel::

    PU <code> <PIN>               picked up      (also PICKUP, PICKED UP)
    DL <code> <PIN>               delivered      (also DELIVERED, DELIVER)
    DELAY <code> <PIN> <reason>   running late, and why    (also DELAYED)
    HELP <PIN> [text]             ask dispatch for help; the text is optional
    HELP                          the list of commands, nothing else

Reading forgives what thumbs do on a small keyboard: any letter case, extra
spaces, full-width or other compatibility forms of letters and digits
(Unicode NFKC), and a package code typed in lower case, with or without
hyphens, split by spaces, or with O, I or L for 0 and 1
(:func:`controlroom.orders.codes.normalise_code`). The PIN is 4 to 8 digits.

A text that is no command raises :class:`CommandNotUnderstood`, whose message
is the reply to send back: it says what was wrong and how the command reads.
No reply ever repeats a number from the text, so a PIN typed in the wrong
place is never sent back or stored (:func:`mask_pins`).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from controlroom.errors import CommandNotUnderstood, PackageCodeError
from controlroom.orders.codes import CODE_LENGTH, format_code, normalise_code


class CommandKind(StrEnum):
    """What a driver reports or asks for."""

    PICKUP = "pickup"
    DELIVERY = "delivery"
    DELAY = "delay"
    HELP = "help"


KEYWORDS: dict[str, CommandKind] = {
    "PU": CommandKind.PICKUP,
    "PICKUP": CommandKind.PICKUP,
    "PICKEDUP": CommandKind.PICKUP,
    "DL": CommandKind.DELIVERY,
    "DELIVERED": CommandKind.DELIVERY,
    "DELIVER": CommandKind.DELIVERY,
    "DELAY": CommandKind.DELAY,
    "DELAYED": CommandKind.DELAY,
    "HELP": CommandKind.HELP,
}
_TWO_WORDS = frozenset({"PICKEDUP", "PICKUP"})
# One short line per command; it fits one SMS with room for a greeting.
COMMAND_LIST = (
    "PU code PIN = picked up; DL code PIN = delivered; "
    "DELAY code PIN reason; HELP PIN text = call me"
)
MAX_TEXT = 480  # three SMS segments: more is not a command typed by hand
MAX_FREE_TEXT = 300  # a delay reason or help text, as the journal keeps it
PIN_MASK = "****"

_PIN = re.compile(r"[0-9]{4,8}", re.ASCII)
_PIN_WORD = re.compile(r"(?<![0-9A-Za-z])[0-9]{4,8}(?![0-9A-Za-z])", re.ASCII)
_CODE_NOISE = str.maketrans("", "", "-. \t")
_EXAMPLE = {
    CommandKind.PICKUP: "PU 7KQ2-9XWM-4TCZ PIN",
    CommandKind.DELIVERY: "DL 7KQ2-9XWM-4TCZ PIN",
    CommandKind.DELAY: "DELAY 7KQ2-9XWM-4TCZ PIN stuck in traffic",
    CommandKind.HELP: "HELP PIN van will not start",
}


@dataclass(frozen=True)
class Command:
    """A driver's text, understood.

    ``code`` is the package code in display form (none for HELP), ``pin``
    the PIN as typed (none for a bare HELP), ``text`` the delay reason or
    the help text (may be empty for HELP).
    """

    kind: CommandKind
    pin: str | None
    code: str | None = None
    text: str = ""

    def masked(self, raw: str) -> str:
        """Return ``raw`` with this command's PIN, and any other, masked."""
        return mask_pins(raw, pin=self.pin)


def mask_pins(raw: str, *, pin: str | None = None) -> str:
    """Return ``raw`` with every PIN-shaped number replaced by ``****``.

    Every free-standing run of 4 to 8 digits is masked, not only ``pin``:
    a driver may type the PIN in the wrong place, and masking one digit
    group of a package code too many is a smaller harm than keeping a PIN.
    ``pin`` is also masked where it is glued to other characters.
    """
    text = unicodedata.normalize("NFKC", raw)
    masked = _PIN_WORD.sub(PIN_MASK, text)
    if pin:
        masked = masked.replace(pin, PIN_MASK)
    return masked


def parse_command(raw: str) -> Command:
    """Read a driver's text as a command, or raise with the reply to send.

    Raises
    ------
    CommandNotUnderstood
        The text is empty, too long, starts with an unknown word, or lacks
        or garbles the package code, the PIN or the reason. The message is
        the reply for the driver and never contains a number from the text.
    """
    text = unicodedata.normalize("NFKC", raw)
    if len(text) > MAX_TEXT:
        raise CommandNotUnderstood(
            f"Your text is {len(text)} characters; a command is much shorter. "
            f"Send one command per text: {COMMAND_LIST}."
        )
    # A full stop or ! at the end and a colon after the command word are
    # punctuation, not part of the PIN or the command: "PU: code 1234."
    words = text.strip().rstrip(".!").split()
    if not words:
        raise CommandNotUnderstood(f"Your text was empty. Send {COMMAND_LIST}.")
    words[0] = words[0].rstrip(":")
    if not words[0]:
        words = words[1:]
    if not words:
        raise CommandNotUnderstood(f"Your text was empty. Send {COMMAND_LIST}.")

    # "Picked up" and "pick up" are typed as two words as often as one.
    if len(words) > 1 and (words[0] + words[1]).upper() in _TWO_WORDS:
        words = [words[0] + words[1], *words[2:]]
    keyword = words[0].upper()
    kind = KEYWORDS.get(keyword)
    if kind is None:
        raise CommandNotUnderstood(_unknown_command(keyword))
    if kind is CommandKind.HELP:
        return _help(words[1:])

    code, rest = _take_code(kind, words[1:])
    if not rest or not _PIN.fullmatch(rest[0]):
        raise CommandNotUnderstood(
            f"Put your PIN (4 to 8 digits) after the package code: "
            f"{_EXAMPLE[kind]}. Nothing was recorded."
        )
    pin, reason = rest[0], " ".join(rest[1:])

    if kind is CommandKind.DELAY:
        if not reason:
            raise CommandNotUnderstood(
                f"Say why after the PIN: {_EXAMPLE[kind]}. Nothing was recorded."
            )
        _check_free_text(reason, kind)
        return Command(kind, pin, code, mask_pins(reason, pin=pin))
    if reason:
        raise CommandNotUnderstood(
            f"Send only the code and the PIN: {_EXAMPLE[kind]}. To report a "
            "delay send DELAY code PIN reason. Nothing was recorded."
        )
    return Command(kind, pin, code)


def _help(words: list[str]) -> Command:
    if not words:
        return Command(CommandKind.HELP, None)
    if not _PIN.fullmatch(words[0]):
        raise CommandNotUnderstood(
            f"Put your PIN right after HELP: {_EXAMPLE[CommandKind.HELP]}. "
            "Dispatch has not been told yet."
        )
    pin, message = words[0], " ".join(words[1:])
    _check_free_text(message, CommandKind.HELP)
    return Command(CommandKind.HELP, pin, None, mask_pins(message, pin=pin))


def _take_code(kind: CommandKind, words: list[str]) -> tuple[str, list[str]]:
    """Split the package code off the front; it may be typed in pieces."""
    pieces: list[str] = []
    symbols = 0
    for index, word in enumerate(words):
        pieces.append(word)
        symbols += len(word.translate(_CODE_NOISE))
        if symbols >= CODE_LENGTH:
            return _read_code(kind, "".join(pieces)), words[index + 1 :]
    if not pieces:
        raise CommandNotUnderstood(
            f"Add the package code and your PIN: {_EXAMPLE[kind]}. "
            "Nothing was recorded."
        )
    raise CommandNotUnderstood(
        f"The package code is missing or too short. Send {_EXAMPLE[kind]}. "
        "Nothing was recorded."
    )


def _read_code(kind: CommandKind, typed: str) -> str:
    try:
        return format_code(normalise_code(typed))
    except PackageCodeError as exc:
        # The code's own message may quote a symbol, never the whole text.
        raise CommandNotUnderstood(
            f"{exc} Send {_EXAMPLE[kind]}. Nothing was recorded."
        ) from None


def _check_free_text(text: str, kind: CommandKind) -> None:
    if len(text) > MAX_FREE_TEXT:
        raise CommandNotUnderstood(
            f"Keep the {'reason' if kind is CommandKind.DELAY else 'text'} "
            f"under {MAX_FREE_TEXT} characters. Nothing was recorded."
        )


def _unknown_command(keyword: str) -> str:
    close = difflib.get_close_matches(keyword, KEYWORDS, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else ""
    if any(char.isdigit() for char in keyword):
        # Never echo digits: the word may be the PIN typed first.
        shown = "A text must start with a command word."
    elif all(char.isprintable() for char in keyword) and len(keyword) <= 12:
        shown = f"Unknown command '{keyword}'."
    else:
        shown = "Unknown command."
    return f"{shown}{hint} Send {COMMAND_LIST}."
