"""A small SMSC on 127.0.0.1 that speaks SMPP 3.4, for tests and drills.

It reads and writes the PDUs of SMPP 3.4 (section 4) by hand with
``struct``, so the gateway adapter is tested against the wire format and
not against its own library: a 16-octet header (command_length,
command_id, command_status, sequence_number), C-Octet Strings ended by a
NUL, and TLVs (tag, length, value; section 3.2.4) after the mandatory
fields.

What it does: binds a transmitter or transceiver after checking
system_id and password, answers ``submit_sm`` with a hex message id,
records every submitted message, and sends a delivery receipt in the text
of SMPP 3.4 Appendix B (the id in 10-digit decimal, as many SMSCs write
it), optionally with the ``receipted_message_id`` and ``message_state``
TLVs. Faults an operator meets in real life can be switched on while it
runs: throttling, rejection, a dropped connection, slow answers, and
receipts that report failure.

It can also play a handset: :meth:`LabSmsc.deliver_text` sends a text "from
a phone" to every client bound as a transceiver or receiver, as a
``deliver_sm`` without the receipt bit, in GSM 7-bit (one septet per octet)
or UCS-2, in concatenated parts when it is long, and counts the
``deliver_sm_resp`` answers it gets back.
"""

from __future__ import annotations

import itertools
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from controlroom.errors import MessagingError
from controlroom.messaging.gsm_octets import ESCAPE, gsm7_octets

logger = logging.getLogger(__name__)

# Command ids, SMPP 3.4 section 5.1.2.1; a response sets the top bit.
GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
BIND_TRANSCEIVER = 0x00000009
ENQUIRE_LINK = 0x00000015
RESPONSE = 0x80000000

# Command status values, SMPP 3.4 section 5.1.3.
ESME_ROK = 0x00
ESME_RINVCMDID = 0x03
ESME_RBINDFAIL = 0x0D
ESME_RSUBMITFAIL = 0x45
ESME_RTHROTTLED = 0x58

# TLV tags, SMPP 3.4 sections 5.3.2.12 and 5.3.2.35.
RECEIPTED_MESSAGE_ID = 0x001E
MESSAGE_STATE = 0x0427

ESM_CLASS_RECEIPT = 0x04
ESM_CLASS_UDHI = 0x40

_HEADER = struct.Struct(">IIII")
_BINDS = (BIND_TRANSMITTER, BIND_TRANSCEIVER, BIND_RECEIVER)
# message_state for each Appendix B stat word (section 5.2.28).
_STATES = {
    "ENROUTE": 1,
    "DELIVRD": 2,
    "EXPIRED": 3,
    "DELETED": 4,
    "UNDELIV": 5,
    "ACCEPTD": 6,
    "UNKNOWN": 7,
    "REJECTD": 8,
}
# Ids start high enough to hold hex letters, so the hex id and its
# decimal spelling in the receipt can never be mistaken for each other.
_FIRST_MESSAGE_ID = 0x5EED0000
_RECEIVING_BINDS = (BIND_TRANSCEIVER, BIND_RECEIVER)
# Octets of text per part (TS 23.040 9.2.3.24.1): 140 less the 6-octet
# header; one septet per octet for GSM 7-bit text, as we send it unpacked.
_SINGLE = {0x00: 160, 0x08: 140}
_PART = {0x00: 153, 0x08: 134}


@dataclass(frozen=True)
class SubmittedMessage:
    """One ``submit_sm`` as the lab SMSC received it."""

    system_id: str
    source: str
    destination: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    message_id: str | None

    @property
    def udhi(self) -> bool:
        """Whether the short_message starts with a user data header."""
        return bool(self.esm_class & ESM_CLASS_UDHI)


@dataclass
class SmscFaults:
    """Faults switched on at run time; each applies to the next submits.

    ``clean_submits`` lets that many more submits through untouched first,
    so a fault can strike in the middle of a multipart message.
    ``receipt_stat`` is the Appendix B stat word the receipts carry;
    ``switched_off`` names handsets (their digits) whose receipts say
    UNDELIV whatever ``receipt_stat`` is, as for a phone that stays off.
    """

    clean_submits: int = 0
    throttle: bool = False
    reject: bool = False
    drop: bool = False
    delay_seconds: float = 0.0
    receipt_stat: str = "DELIVRD"
    receipts: bool = True
    switched_off: frozenset[str] = frozenset()


class LabSmsc:
    """An SMSC on 127.0.0.1 on a free port, served from a background thread.

    Use it as a context manager; ``port`` is known once it has started.
    """

    def __init__(
        self,
        *,
        system_id: str = "cryptopack",
        password: str = "lab-pw42",
        receipt_tlvs: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.system_id = system_id
        self._password = password
        self.receipt_tlvs = receipt_tlvs
        self.faults = SmscFaults()
        self._clock = clock
        self._lock = threading.Lock()
        self._submitted: list[SubmittedMessage] = []
        self._ids = itertools.count(_FIRST_MESSAGE_ID)
        self._stopping = threading.Event()
        self._sessions: list[_Session] = []
        self._mo_answered = 0
        self._mo_references = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]

    def __enter__(self) -> LabSmsc:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def submitted(self) -> list[SubmittedMessage]:
        """Every message submitted so far, oldest first."""
        with self._lock:
            return list(self._submitted)

    @property
    def texts_answered(self) -> int:
        """How many handset text parts bound clients answered with a resp."""
        with self._lock:
            return self._mo_answered

    def deliver_text(
        self,
        phone: str,
        text: str,
        *,
        destination: str = "CryptoPack",
        wait_seconds: float = 0.0,
    ) -> int:
        """Send ``text`` as if from the handset ``phone`` to bound clients.

        Waits up to ``wait_seconds`` for a client to bind as a transceiver
        or receiver. Returns the number of parts sent to each client.
        Raises ``LookupError`` when no client is bound to receive.
        """
        parts = _mo_parts(text, next(self._mo_references) % 256)
        deadline = time.monotonic() + wait_seconds
        while True:
            with self._lock:
                receivers = [s for s in self._sessions if s.bound in _RECEIVING_BINDS]
                for session in receivers:
                    session.outbox.extend(
                        _deliver_body(phone, destination, esm, coding, payload)
                        for esm, coding, payload in parts
                    )
            if receivers:
                return len(parts)
            if time.monotonic() >= deadline:
                raise LookupError("no client is bound as a transceiver or receiver")
            time.sleep(0.01)

    def start(self) -> None:
        """Listen and serve connections until ``stop``."""
        self._listener.listen()
        self._listener.settimeout(0.05)
        self._spawn(self._accept_loop)

    def stop(self) -> None:
        """Close the listener and every connection, and wait for the threads."""
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=2)
        self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(0.05)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        session = _Session(conn)
        with self._lock:
            self._sessions.append(session)
        try:
            with conn:
                self._serve_session(session)
        finally:
            with self._lock:
                self._sessions.remove(session)

    def _serve_session(self, session: _Session) -> None:
        while not self._stopping.is_set():
            try:
                # Texts from handsets go out from this thread only, so two
                # PDUs never interleave on the socket.
                self._send_texts(session)
                pdu = session.read()
            except TimeoutError:
                continue
            except (ConnectionError, OSError):
                return
            if pdu is None or not self._answer(session, *pdu):
                return

    def _send_texts(self, session: _Session) -> None:
        with self._lock:
            bodies, session.outbox = session.outbox, []
        for body in bodies:
            seq = session.next_seq()
            session.texts_sent.add(seq)
            session.send(DELIVER_SM, ESME_ROK, seq, body)

    def _answer(self, session: _Session, command: int, seq: int, body: bytes) -> bool:
        """Answer one PDU; False means the connection is to be closed."""
        if command in _BINDS:
            self._bind(session, command, seq, body)
        elif command == SUBMIT_SM:
            return self._submit(session, seq, body)
        elif command == ENQUIRE_LINK:
            session.send(ENQUIRE_LINK | RESPONSE, ESME_ROK, seq)
        elif command == UNBIND:
            session.send(UNBIND | RESPONSE, ESME_ROK, seq)
            return False
        elif command == DELIVER_SM | RESPONSE and seq in session.texts_sent:
            session.texts_sent.discard(seq)
            with self._lock:
                self._mo_answered += 1
        elif not command & RESPONSE:
            session.send(GENERIC_NACK, ESME_RINVCMDID, seq)
        # Responses (deliver_sm_resp, enquire_link_resp) need no answer.
        return True

    def _bind(self, session: _Session, command: int, seq: int, body: bytes) -> None:
        system_id, pos = _c_string(body, 0)
        password, _ = _c_string(body, pos)
        if system_id != self.system_id or password != self._password:
            logger.info("lab smsc bind refused system_id=%s", system_id)
            session.send(command | RESPONSE, ESME_RBINDFAIL, seq)
            return
        session.system_id = system_id
        session.bound = command
        session.send(command | RESPONSE, ESME_ROK, seq, b"LabSMSC\x00")

    def _submit(self, session: _Session, seq: int, body: bytes) -> bool:
        faults = self.faults
        clean = faults.clean_submits > 0
        if clean:
            faults.clean_submits -= 1
        if faults.drop and not clean:
            return False
        if faults.delay_seconds and not clean:
            time.sleep(faults.delay_seconds)

        status = ESME_ROK
        if faults.throttle and not clean:
            status = ESME_RTHROTTLED
        elif faults.reject and not clean:
            status = ESME_RSUBMITFAIL
        message_id = f"{next(self._ids):08x}" if status == ESME_ROK else None
        message = _read_submit(body, session.system_id, message_id)
        with self._lock:
            self._submitted.append(message)

        if message_id is None:
            session.send(SUBMIT_SM | RESPONSE, status, seq)
            return True
        session.send(SUBMIT_SM | RESPONSE, ESME_ROK, seq, _c(message_id))
        if faults.receipts and message.registered_delivery & 0x01:
            session.send(
                DELIVER_SM, ESME_ROK, session.next_seq(), self._receipt(message)
            )
        return True

    def _receipt(self, message: SubmittedMessage) -> bytes:
        assert message.message_id is not None
        stat = self.faults.receipt_stat
        if _digits(message.destination) in self.faults.switched_off:
            stat = "UNDELIV"
        stamp = self._clock().astimezone(UTC).strftime("%y%m%d%H%M")
        delivered = 1 if stat == "DELIVRD" else 0
        text = (
            f"id:{int(message.message_id, 16):010d} sub:001 "
            f"dlvrd:{delivered:03d} submit date:{stamp} done date:{stamp} "
            f"stat:{stat} err:{0 if delivered else 1:03d} "
            f"text:{_first_chars(message)}"
        ).encode("ascii")
        # The receipt goes from the handset back to us (Appendix B).
        body = (
            _c("")
            + bytes([1, 1])
            + _c(message.destination)
            + bytes([5, 0])
            + _c(message.source)
            + bytes([ESM_CLASS_RECEIPT, 0, 0])
            + _c("")
            + _c("")
            + bytes([0, 0, 0, 0, len(text)])
            + text
        )
        if self.receipt_tlvs:
            body += _tlv(RECEIPTED_MESSAGE_ID, _c(message.message_id))
            body += _tlv(MESSAGE_STATE, bytes([_STATES.get(stat, 7)]))
        return body


class _Session:
    """One ESME connection: framing, sequence numbers and the bound name."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.system_id = ""
        self.bound = 0
        self.outbox: list[bytes] = []
        self.texts_sent: set[int] = set()
        self._buffer = b""
        self._seq = itertools.count(1)

    def next_seq(self) -> int:
        return next(self._seq)

    def read(self) -> tuple[int, int, bytes] | None:
        """Return (command_id, sequence, body), or None when the peer left."""
        while len(self._buffer) < _HEADER.size or len(self._buffer) < self._length():
            chunk = self.conn.recv(4096)
            if not chunk:
                return None
            self._buffer += chunk
        length, command, _status, seq = _HEADER.unpack_from(self._buffer)
        body = self._buffer[_HEADER.size : length]
        self._buffer = self._buffer[length:]
        return command, seq, body

    def send(self, command: int, status: int, seq: int, body: bytes = b"") -> None:
        header = _HEADER.pack(_HEADER.size + len(body), command, status, seq)
        self.conn.sendall(header + body)

    def _length(self) -> int:
        return int(struct.unpack_from(">I", self._buffer)[0])


def _read_submit(
    body: bytes, system_id: str, message_id: str | None
) -> SubmittedMessage:
    # submit_sm mandatory fields in the order of SMPP 3.4 section 4.4.1.
    _service_type, pos = _c_string(body, 0)
    source, pos = _c_string(body, pos + 2)
    destination, pos = _c_string(body, pos + 2)
    esm_class = body[pos]
    _schedule, pos = _c_string(body, pos + 3)
    _validity, pos = _c_string(body, pos)
    registered_delivery, data_coding, sm_length = (
        body[pos],
        body[pos + 2],
        body[pos + 4],
    )
    short_message = body[pos + 5 : pos + 5 + sm_length]
    return SubmittedMessage(
        system_id=system_id,
        source=source,
        destination=destination,
        esm_class=esm_class,
        data_coding=data_coding,
        registered_delivery=registered_delivery,
        short_message=short_message,
        message_id=message_id,
    )


def _first_chars(message: SubmittedMessage) -> str:
    # Appendix B: the first 20 characters of the message. Ours are shown
    # in printable ASCII only, so the receipt itself stays plain ASCII.
    data = message.short_message
    if message.udhi and data:
        data = data[1 + data[0] :]
    if message.data_coding == 0x08:
        text = data.decode("utf-16-be", errors="replace")
    else:
        text = data.decode("latin-1")
    return "".join(c if " " <= c <= "~" else "?" for c in text[:20])


def _digits(number: str) -> str:
    return "".join(char for char in number if char.isdigit())


def _c_string(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end].decode("latin-1"), end + 1


def _c(text: str) -> bytes:
    return text.encode("latin-1") + b"\x00"


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def _mo_parts(text: str, reference: int) -> list[tuple[int, int, bytes]]:
    """A handset's text as (esm_class, data_coding, short_message) parts."""
    try:
        data_coding, octets = 0x00, gsm7_octets(text)
    except MessagingError:
        data_coding, octets = 0x08, text.encode("utf-16-be")
    if len(octets) <= _SINGLE[data_coding]:
        return [(0, data_coding, octets)]

    chunks = []
    while octets:
        cut = min(_PART[data_coding], len(octets))
        # A handset never splits an escape pair or a surrogate pair.
        if data_coding == 0x00 and cut < len(octets) and octets[cut - 1] == ESCAPE:
            cut -= 1
        if (
            data_coding == 0x08
            and cut < len(octets)
            and 0xD8 <= octets[cut - 2] <= 0xDB
        ):
            cut -= 2
        chunks.append(octets[:cut])
        octets = octets[cut:]
    total = len(chunks)
    return [
        (ESM_CLASS_UDHI, data_coding, bytes([5, 0, 3, reference, total, n]) + chunk)
        for n, chunk in enumerate(chunks, start=1)
    ]


def _deliver_body(
    phone: str, destination: str, esm_class: int, data_coding: int, payload: bytes
) -> bytes:
    # deliver_sm mandatory fields, SMPP 3.4 section 4.6.1; the sender is an
    # international number (TON 1, NPI 1 E.164) without its "+".
    return (
        _c("")
        + bytes([1, 1])
        + _c(phone.lstrip("+"))
        + bytes([5, 0])
        + _c(destination)
        + bytes([esm_class, 0, 0])
        + _c("")
        + _c("")
        + bytes([0, 0, data_coding, 0, len(payload)])
        + payload
    )
