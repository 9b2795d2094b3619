"""Sending SMS through an SMSC over SMPP 3.4, with smpplib on the wire.

The message is split by our own :func:`plan_sms`, not by smpplib, whose
splitter cuts escape pairs (€) and surrogate pairs (emoji) in half. Each
segment goes in its own ``submit_sm``:

* GSM-7 text as data_coding 0x00, one septet per octet (unpacked; the SMSC
  packs it for the air), extension characters behind the escape 0x1B
  (TS 23.038 clause 6.2.1.1);
* UCS-2 text as data_coding 0x08 in UTF-16-BE, emoji as surrogate pairs;
* a multipart message with esm_class 0x40 (UDHI, SMPP 3.4 section 5.2.12)
  and a 6-octet user data header ``05 00 03 ref total seq``, the 8-bit
  concatenation element of TS 23.040 9.2.3.24.1.

Delivery receipts arrive as ``deliver_sm`` with esm_class 0x04 and are read
with :func:`parse_receipt`; any other ``deliver_sm`` is a text from a handset
(mobile-originated), answered and kept for :meth:`SmppGateway.inbound`
(decoding and reassembly in :mod:`controlroom.messaging.inbound`).
Throttling, rejection, a refused bind and a lost connection become
:class:`MessagingError` subclasses that say what to do. The password is
sent in the bind only; it is never put in a message, and the bind PDU is
hidden from smpplib's wire log.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import select
import socket
import struct
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar

import smpplib.client  # type: ignore[import-untyped]
import smpplib.consts as consts  # type: ignore[import-untyped]
import smpplib.exceptions  # type: ignore[import-untyped]
import smpplib.smpp  # type: ignore[import-untyped]

from controlroom.errors import ConfigurationError, MessagingError
from controlroom.messaging.gateway import (
    SmsGatewayAccessDenied,
    SmsGatewayUnavailable,
    SmsRejected,
    SmsThrottled,
)
from controlroom.messaging.gsm_octets import gsm7_octets
from controlroom.messaging.inbound import (
    InboundText,
    Reassembly,
    decode_text,
    sender_number,
    split_user_data,
)
from controlroom.messaging.receipts import (
    MESSAGE_STATE,
    RECEIPTED_MESSAGE_ID,
    Receipt,
    parse_receipt,
)
from controlroom.messaging.segments import Encoding, plan_sms
from controlroom.words import counted

logger = logging.getLogger(__name__)

# SMPP 3.4 section 5.1.3 command_status values we act on.
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
_ACCESS_REFUSED = (ESME_RBINDFAIL, ESME_RINVPASWD, ESME_RINVSYSID)
_BUSY = (ESME_RTHROTTLED, ESME_RMSGQFUL)
_BOUND = (consts.SMPP_CLIENT_STATE_BOUND_TX, consts.SMPP_CLIENT_STATE_BOUND_TRX)

DATA_CODING_GSM7 = 0x00
DATA_CODING_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40
ESM_CLASS_RECEIPT = 0x04


class SmppGateway:
    """An SMS gateway bound as a transceiver to one SMSC.

    Parameters
    ----------
    host, port
        Where the SMSC listens.
    system_id, password
        The bind credentials the SMSC operator issued.
    source
        The sender shown on the handset (alphanumeric, up to 11 characters).
    timeout_seconds
        How long to wait for any answer before giving up on the SMSC.
    first_reference
        The first concatenation reference; random unless a test fixes it.

    Raises
    ------
    ConfigurationError
        The system_id or password is longer than SMPP 3.4 allows.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        system_id: str,
        password: str,
        source: str = "CryptoPack",
        timeout_seconds: float = 5.0,
        first_reference: int | None = None,
    ) -> None:
        self.name = f"SMSC {host}:{port}"
        _check_credentials(system_id, password)
        self._system_id = system_id
        self._password = password
        self._source = source
        start = secrets.randbelow(256) if first_reference is None else first_reference
        self._references = (value % 256 for value in itertools.count(start))
        self._pending: list[Receipt] = []
        self._inbound: list[InboundText] = []
        self._reassembly = Reassembly()
        self._client = smpplib.client.Client(
            host,
            port,
            timeout=timeout_seconds,
            logger_name=_WIRE_LOG.name,
            allow_unknown_opt_params=True,
        )

    def __enter__(self) -> SmppGateway:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def connect(self) -> None:
        """Open the connection and bind as a transceiver.

        Raises
        ------
        SmsGatewayAccessDenied
            The SMSC refused the system_id or password.
        SmsGatewayUnavailable
            The SMSC cannot be reached or does not answer.
        """
        try:
            self._client.connect()
            self._client.bind_transceiver(
                system_id=self._system_id, password=self._password
            )
        except smpplib.exceptions.PDUError as exc:
            self._client.disconnect()
            status = exc.args[1] if len(exc.args) > 1 else None
            if status in _ACCESS_REFUSED:
                raise SmsGatewayAccessDenied(
                    f"{self.name} refused to bind system_id "
                    f"{self._system_id!r} (status 0x{status:02X}); check the "
                    "system_id and password issued by the SMSC operator.",
                    gateway=self.name,
                ) from None
            raise self._unavailable(f"refused the bind ({exc.args[0]})") from None
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            self._client.disconnect()
            raise self._unavailable("cannot be reached") from exc
        logger.info("smpp bound gateway=%s system_id=%s", self.name, self._system_id)

    def close(self) -> None:
        """Unbind politely if still connected, then close the connection."""
        if self._client.state not in _BOUND:
            if self._client._socket is not None:
                self._client.disconnect()
            return
        try:
            self._client.unbind()
        except (smpplib.exceptions.PDUError, smpplib.exceptions.ConnectionError):
            logger.info("smpp unbind unanswered gateway=%s", self.name)
        except OSError:
            logger.info("smpp unbind failed gateway=%s", self.name)
        self._client.disconnect()

    def send(self, phone: str, text: str) -> list[str]:
        """Send ``text`` to ``phone``, one ``submit_sm`` per segment.

        Returns
        -------
        list[str]
            The SMSC's message id for each segment, in order.

        Raises
        ------
        MessagingError
            The text cannot be sent as SMS (empty, too long).
        SmsThrottled, SmsRejected
            The SMSC refused a segment; ``sent_ids`` names those accepted.
        SmsGatewayUnavailable
            The connection dropped or the SMSC stopped answering.
        """
        plan = plan_sms(text)
        total = plan.segment_count
        reference = next(self._references)

        sent: list[str] = []
        for number, segment in enumerate(plan.segments, start=1):
            payload = _encode(segment.text, plan.encoding)
            esm_class = 0
            if total > 1:
                payload = bytes([5, 0, 3, reference, total, number]) + payload
                esm_class = ESM_CLASS_UDHI
            sent.append(self._submit(phone, payload, esm_class, plan.encoding, sent))

        logger.info(
            "sms sent gateway=%s segments=%s encoding=%s",
            self.name,
            total,
            plan.encoding,
        )
        return sent

    def receipts(
        self, *, wait_seconds: float = 0.0, at_least: int = 0
    ) -> list[Receipt]:
        """Return the receipts that have arrived, and forget them.

        Waits up to ``wait_seconds`` while fewer than ``at_least`` are in.
        """
        self._pump(wait_seconds, lambda: len(self._pending) >= at_least)
        found, self._pending = self._pending, []
        return found

    def inbound(
        self, *, wait_seconds: float = 0.0, at_least: int = 0
    ) -> list[InboundText]:
        """Return the whole texts handsets have sent us, and forget them.

        Waits up to ``wait_seconds`` while fewer than ``at_least`` are in.
        Each part was answered with ``deliver_sm_resp`` as it came, so the
        caller must keep what it is given: the SMSC will not send it again.
        """
        self._pump(wait_seconds, lambda: len(self._inbound) >= at_least)
        found, self._inbound = self._inbound, []
        return found

    def _pump(self, wait_seconds: float, enough: Callable[[], bool]) -> None:
        """Read and answer PDUs until ``enough`` or ``wait_seconds`` pass."""
        sock = self._socket()
        deadline = time.monotonic() + wait_seconds
        while True:
            # select, not a short socket timeout: a timeout in the middle of
            # a PDU would lose our place in the byte stream.
            left = 0.0 if enough() else max(deadline - time.monotonic(), 0.0)
            readable, _, _ = select.select([sock], [], [], left)
            if not readable:
                return
            self._handle(self._read(None), sent=None)

    def _submit(
        self,
        phone: str,
        payload: bytes,
        esm_class: int,
        encoding: Encoding,
        sent: list[str],
    ) -> str:
        if self._client.state not in _BOUND:
            raise self._unavailable("is not bound; connect first", sent)
        pdu = self._client.send_message(
            source_addr_ton=5,
            source_addr_npi=0,
            source_addr=self._source,
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=phone.lstrip("+"),
            esm_class=esm_class,
            data_coding=(
                DATA_CODING_GSM7 if encoding is Encoding.GSM7 else DATA_CODING_UCS2
            ),
            registered_delivery=1,
            short_message=payload,
        )
        while True:
            try:
                answer = self._read(sent)
            except TimeoutError:
                raise self._unavailable(
                    "did not answer a submit in time (that segment may still go out)",
                    sent,
                ) from None
            if answer.command == "submit_sm_resp" and answer.sequence == pdu.sequence:
                return self._accepted(answer, sent)
            self._handle(answer, sent=sent)

    def _accepted(self, answer: Any, sent: list[str]) -> str:
        status = int(answer.status)
        done = tuple(sent)
        if status in _BUSY:
            raise SmsThrottled(
                f"{self.name} is throttling us (status 0x{status:02X}); "
                f"{_went_out(done)}. Wait a minute and send the "
                "rest again, or lower the sending rate.",
                gateway=self.name,
                status=status,
                sent_ids=done,
            )
        if status:
            raise SmsRejected(
                f"{self.name} rejected the message (status 0x{status:02X}); "
                f"{_went_out(done)}. Check the phone number and "
                "text; if they are right, ask the SMSC operator why.",
                gateway=self.name,
                status=status,
                sent_ids=done,
            )
        return _text(answer.message_id)

    def _handle(self, pdu: Any, *, sent: list[str] | None) -> None:
        if pdu.command == "deliver_sm":
            self._deliver(pdu, sent)
            return
        if pdu.command == "enquire_link":
            self._answer("enquire_link_resp", pdu, sent)
            return
        if pdu.command in ("unbind", "generic_nack"):
            self._client.disconnect()
            raise self._unavailable(f"ended the session ({pdu.command})", sent)
        logger.info("smpp pdu ignored gateway=%s command=%s", self.name, pdu.command)

    def _deliver(self, pdu: Any, sent: list[str] | None) -> None:
        # Answer first: an SMSC re-sends a deliver_sm it gets no answer to.
        self._answer("deliver_sm_resp", pdu, sent)
        if not int(pdu.esm_class or 0) & ESM_CLASS_RECEIPT:
            self._take_text(pdu)
            return
        tlvs: dict[int, bytes] = {}
        if getattr(pdu, "receipted_message_id", None):
            tlvs[RECEIPTED_MESSAGE_ID] = _raw(pdu.receipted_message_id)
        if getattr(pdu, "message_state", None) is not None:
            tlvs[MESSAGE_STATE] = bytes([int(pdu.message_state)])
        try:
            self._pending.append(parse_receipt(_raw(pdu.short_message), tlvs))
        except MessagingError as exc:
            logger.warning(
                "smpp receipt unreadable gateway=%s reason=%s", self.name, exc
            )

    def _take_text(self, pdu: Any) -> None:
        phone = sender_number(_text(pdu.source_addr), int(pdu.source_addr_ton or 0))
        payload = _raw(pdu.short_message) or _raw(getattr(pdu, "message_payload", None))
        udhi = bool(int(pdu.esm_class or 0) & ESM_CLASS_UDHI)
        part, payload = split_user_data(payload, udhi=udhi)
        if part is not None:
            whole = self._reassembly.add(phone, part, payload)
            if whole is None:
                return
            payload = whole
        text = decode_text(payload, int(pdu.data_coding or 0))
        self._inbound.append(InboundText(phone, text, datetime.now(UTC)))
        logger.info(
            "sms received gateway=%s parts=%s", self.name, part.total if part else 1
        )

    def _answer(self, command: str, pdu: Any, sent: list[str] | None) -> None:
        answer = smpplib.smpp.make_pdu(command, client=self._client)
        answer.sequence = pdu.sequence
        try:
            self._client.send_pdu(answer)
        except smpplib.exceptions.ConnectionError as exc:
            self._client.disconnect()
            raise self._unavailable("dropped the connection", sent) from exc

    def _read(self, sent: list[str] | None) -> Any:
        try:
            return self._client.read_pdu()
        except TimeoutError:
            raise
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            self._client.disconnect()
            raise self._unavailable("dropped the connection", sent) from exc

    def _socket(self) -> socket.socket:
        sock = self._client._socket
        if sock is None:
            raise self._unavailable("is not connected; connect first")
        return sock  # type: ignore[no-any-return]

    def _unavailable(
        self, what: str, sent: list[str] | None = None
    ) -> SmsGatewayUnavailable:
        during_send = "" if sent is None else f" ({_went_out(sent)})"
        return SmsGatewayUnavailable(
            f"{self.name} {what}{during_send}. Check that the SMSC is up and "
            "reachable, then reconnect and send again.",
            gateway=self.name,
            sent_ids=tuple(sent or ()),
        )


def _check_credentials(system_id: str, password: str) -> None:
    # SMPP 3.4 section 4.1.1: C-Octet Strings of at most 16 and 9 octets
    # with their NUL; smpplib would cut longer ones short without a word.
    if not 0 < len(system_id.encode("latin-1", "replace")) <= 15:
        raise ConfigurationError(
            f"The SMPP system_id {system_id!r} must be 1 to 15 characters "
            "(SMPP 3.4 section 4.1.1); copy it from the SMSC operator's sheet.",
            setting="smpp_system_id",
        )
    if len(password.encode("latin-1", "replace")) > 8:
        raise ConfigurationError(
            "The SMPP password is longer than the 8 characters SMPP 3.4 "
            "allows (section 4.1.1); check the password the SMSC operator "
            "issued.",
            setting="smpp_password",
        )


def _encode(text: str, encoding: Encoding) -> bytes:
    if encoding is Encoding.UCS2:
        return text.encode("utf-16-be")
    return gsm7_octets(text)


def _went_out(sent: Sequence[str]) -> str:
    if not sent:
        return "no segment of the message had gone out"
    return f"{counted(len(sent), 'segment')} of the message had gone out"


def _raw(value: bytes | str | None) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else value.encode("latin-1")


def _text(value: bytes | str | None) -> str:
    return _raw(value).rstrip(b"\x00").decode("ascii", errors="replace")


class _HideBinds(logging.Filter):
    """Hide bind PDUs in smpplib's hex wire log: they carry the password."""

    _BIND_IDS: ClassVar[frozenset[str]] = frozenset(
        struct.pack(">I", command).hex() for command in (1, 2, 9)
    )

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args and isinstance(args[0], bytes):
            wire = args[0]
            # Hex of the header: length (8 digits), then the command id.
            if wire[8:16].decode("ascii", "replace") in self._BIND_IDS:
                record.args = (b"(bind PDU hidden: it carries the password)", *args[1:])
        return True


_WIRE_LOG = logging.getLogger(f"{__name__}.wire")
_WIRE_LOG.addFilter(_HideBinds())
