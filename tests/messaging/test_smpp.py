"""The SMPP gateway adapter against the lab SMSC on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterator

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest

from controlroom.errors import ConfigurationError, MessagingError
from controlroom.messaging.gateway import (
    SmsGatewayAccessDenied,
    SmsGatewayUnavailable,
    SmsRejected,
    SmsThrottled,
)
from controlroom.messaging.gsm import is_gsm_character
from controlroom.messaging.gsm_octets import gsm7_octets
from controlroom.messaging.receipts import IdSource, Outcome, match_receipt
from controlroom.messaging.smpp_gateway import SmppGateway
from controlroom.messaging.smsc_lab import LabSmsc

SYSTEM_ID = "cryptopack"
PASSWORD = "lab-pw42"
PHONE = "+4791234567"
REFERENCE = 0x2A


@pytest.fixture
def smsc() -> Iterator[LabSmsc]:
    with LabSmsc(system_id=SYSTEM_ID, password=PASSWORD) as lab:
        yield lab


def _gateway(smsc: LabSmsc, *, password: str = PASSWORD) -> SmppGateway:
    return SmppGateway(
        "127.0.0.1",
        smsc.port,
        system_id=SYSTEM_ID,
        password=password,
        timeout_seconds=0.3,
        first_reference=REFERENCE,
    )


@pytest.fixture
def gateway(smsc: LabSmsc) -> Iterator[SmppGateway]:
    with _gateway(smsc) as bound:
        yield bound


def test_a_short_gsm_text_goes_out_as_one_unpacked_gsm7_segment(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    text = "Parcel CP-7K2Q is out for delivery, ETA 14:00 @ depot Øst"

    ids = gateway.send(PHONE, text)

    [message] = smsc.submitted
    assert ids == [message.message_id]
    assert (message.destination, message.source) == ("4791234567", "CryptoPack")
    assert (message.data_coding, message.esm_class) == (0x00, 0x00)
    assert message.short_message.decode("gsm03.38") == text


def test_the_euro_at_the_boundary_moves_whole_into_the_second_segment(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    text = "A" * 152 + "€" + "B" * 10

    ids = gateway.send(PHONE, text)

    first, second = smsc.submitted
    assert ids == [first.message_id, second.message_id]
    assert first.udhi and second.udhi
    assert first.short_message[:6] == bytes([5, 0, 3, REFERENCE, 2, 1])
    assert second.short_message[:6] == bytes([5, 0, 3, REFERENCE, 2, 2])
    assert first.short_message[6:] == b"A" * 152
    assert second.short_message[6:] == b"\x1b\x65" + b"B" * 10
    bodies = [m.short_message[6:].decode("gsm03.38") for m in (first, second)]
    assert "".join(bodies) == text


def test_an_emoji_text_goes_out_as_ucs2_in_utf16_be(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    text = "Your parcel is on the truck 🚚 see you soon 📦"

    gateway.send(PHONE, text)

    [message] = smsc.submitted
    assert (message.data_coding, message.esm_class) == (0x08, 0x00)
    assert message.short_message.decode("utf-16-be") == text


def test_a_long_emoji_text_never_splits_a_surrogate_pair(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    text = "😀" * 40

    gateway.send(PHONE, text)

    bodies = [m.short_message[6:] for m in smsc.submitted]
    # strict decoding fails on half a surrogate pair
    decoded = [body.decode("utf-16-be", errors="strict") for body in bodies]
    assert "".join(decoded) == text
    assert [m.short_message[4:6] for m in smsc.submitted] == [b"\x02\x01", b"\x02\x02"]


def test_receipts_in_the_text_come_back_and_match_their_segments(
    gateway: SmppGateway,
) -> None:
    ids = gateway.send(PHONE, "A" * 152 + "€" + "B" * 10)

    receipts = gateway.receipts(wait_seconds=2, at_least=len(ids))

    assert [match_receipt(receipt, ids) for receipt in receipts] == ids
    assert {receipt.id_source for receipt in receipts} == {IdSource.TEXT}
    assert {receipt.outcome for receipt in receipts} == {Outcome.DELIVERED}


def test_receipts_with_the_tlv_match_by_the_receipted_message_id() -> None:
    with (
        LabSmsc(system_id=SYSTEM_ID, password=PASSWORD, receipt_tlvs=True) as smsc,
        _gateway(smsc) as gateway,
    ):
        ids = gateway.send(PHONE, "Delivered to the neighbour at no. 12")

        [receipt] = gateway.receipts(wait_seconds=2, at_least=1)

    assert receipt.id_source is IdSource.TLV
    assert match_receipt(receipt, ids) == ids[0]


def test_an_undeliverable_receipt_reads_as_failed(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    smsc.faults.receipt_stat = "UNDELIV"
    ids = gateway.send(PHONE, "Your parcel is delayed")

    [receipt] = gateway.receipts(wait_seconds=2, at_least=1)

    assert (receipt.stat, receipt.outcome) == ("UNDELIV", Outcome.FAILED)
    assert match_receipt(receipt, ids) == ids[0]


def test_throttling_raises_sms_throttled_and_sending_resumes_after(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    smsc.faults.throttle = True

    with pytest.raises(SmsThrottled, match=r"throttling us .*0x58.*Wait") as caught:
        gateway.send(PHONE, "Depot closes early today")
    smsc.faults.throttle = False
    ids = gateway.send(PHONE, "Depot closes early today")

    assert (caught.value.status, caught.value.sent_ids) == (0x58, ())
    assert len(ids) == 1


def test_throttling_mid_message_names_the_segments_already_accepted(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    smsc.faults.clean_submits = 1
    smsc.faults.throttle = True

    with pytest.raises(SmsThrottled, match="1 segment") as caught:
        gateway.send(PHONE, "A" * 152 + "€" + "B" * 10)

    first, second = smsc.submitted
    assert caught.value.sent_ids == (first.message_id,)
    assert second.message_id is None


def test_a_rejected_submit_raises_sms_rejected(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    smsc.faults.reject = True

    with pytest.raises(SmsRejected, match=r"rejected the message .*0x45") as caught:
        gateway.send(PHONE, "Route 4 is replanned")

    assert caught.value.status == 0x45


def test_a_connection_dropped_mid_message_names_the_segment_that_went_out(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    smsc.faults.clean_submits = 1
    smsc.faults.drop = True

    with pytest.raises(SmsGatewayUnavailable, match="dropped the connection") as e:
        gateway.send(PHONE, "A" * 152 + "€" + "B" * 10)

    [accepted] = smsc.submitted
    assert e.value.sent_ids == (accepted.message_id,)


def test_an_smsc_that_answers_too_slowly_raises_gateway_unavailable(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    smsc.faults.delay_seconds = 0.6

    with pytest.raises(SmsGatewayUnavailable, match=r"did not answer .* in time"):
        gateway.send(PHONE, "Route 4 is replanned")


def test_a_wrong_password_is_refused_without_naming_it(smsc: LabSmsc) -> None:
    gateway = _gateway(smsc, password="wrong-pw")

    with pytest.raises(SmsGatewayAccessDenied, match="system_id and password") as e:
        gateway.connect()

    assert "wrong-pw" not in str(e.value)


def test_the_password_never_reaches_the_log(
    smsc: LabSmsc, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    with _gateway(smsc) as gateway:
        gateway.send(PHONE, "Hello")

    assert caplog.records
    assert PASSWORD not in caplog.text
    assert PASSWORD.encode().hex() not in caplog.text


def test_a_password_longer_than_smpp_allows_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="longer than the 8 characters"):
        SmppGateway("127.0.0.1", 1, system_id=SYSTEM_ID, password="much-too-long")


def test_an_smsc_that_is_not_listening_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = SmppGateway(
        "127.0.0.1", port, system_id=SYSTEM_ID, password=PASSWORD, timeout_seconds=0.3
    )

    with pytest.raises(SmsGatewayUnavailable, match="cannot be reached"):
        gateway.connect()


def _raw_exchange(port: int, command: int, seq: int) -> tuple[int, int, int]:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
        conn.sendall(struct.pack(">IIII", 16, command, 0, seq))
        _length, answer, status, answer_seq = struct.unpack(">IIII", conn.recv(16))
    return answer, status, answer_seq


def test_the_lab_answers_enquire_link_and_nacks_unknown_commands(
    smsc: LabSmsc,
) -> None:
    enquire = _raw_exchange(smsc.port, 0x00000015, 7)
    unknown = _raw_exchange(smsc.port, 0x000000AA, 8)

    assert enquire == (0x80000015, 0x00, 7)
    assert unknown == (0x80000000, 0x03, 8)


def test_gsm7_octets_agree_with_the_gsm0338_codec_on_every_character() -> None:
    alphabet = (
        "".join(char for char in map(chr, range(0x2000)) if is_gsm_character(char))
        + "€"
    )

    octets = gsm7_octets(alphabet)

    assert octets == alphabet.encode("gsm03.38")
    assert gsm7_octets("§") == b"\x5f"


def test_gsm7_octets_refuse_a_character_outside_the_alphabet() -> None:
    with pytest.raises(MessagingError, match=r"'ж' at position 1 .* UCS-2"):
        gsm7_octets("aж")
