"""Texts from handsets (mobile-originated) through the lab SMSC and the gateway."""

from __future__ import annotations

import time
from collections.abc import Iterator

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest

from controlroom.messaging.gsm_octets import gsm7_octets, gsm7_text
from controlroom.messaging.inbound import (
    Part,
    Reassembly,
    decode_text,
    sender_number,
    split_user_data,
)
from controlroom.messaging.smpp_gateway import SmppGateway
from controlroom.messaging.smsc_lab import LabSmsc

SYSTEM_ID = "cryptopack"
PASSWORD = "lab-pw42"
PHONE = "+4791234567"
WAIT = 2.0


def answered(smsc: LabSmsc, expected: int) -> int:
    """The lab's count of answered parts, once it reaches ``expected`` or 2 s pass.

    The answer to the last part may still be on its way to the lab's thread.
    """
    deadline = time.monotonic() + WAIT
    while smsc.texts_answered < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return smsc.texts_answered


@pytest.fixture
def smsc() -> Iterator[LabSmsc]:
    with LabSmsc(system_id=SYSTEM_ID, password=PASSWORD) as lab:
        yield lab


@pytest.fixture
def gateway(smsc: LabSmsc) -> Iterator[SmppGateway]:
    with SmppGateway(
        "127.0.0.1",
        smsc.port,
        system_id=SYSTEM_ID,
        password=PASSWORD,
        timeout_seconds=0.5,
    ) as bound:
        yield bound


def test_a_text_from_a_handset_is_collected_with_its_e164_sender(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    smsc.deliver_text(PHONE, "pu 7kq2-9xwm-4tcz 1234")

    [text] = gateway.inbound(wait_seconds=WAIT, at_least=1)

    assert (text.phone, text.text) == (PHONE, "pu 7kq2-9xwm-4tcz 1234")
    assert text.received_at.tzinfo is not None


def test_each_part_is_answered_so_the_smsc_does_not_send_it_again(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    parts = smsc.deliver_text(PHONE, "DELAY " + "traffic jam on the ring road " * 8)

    gateway.inbound(wait_seconds=WAIT, at_least=1)

    assert parts == 2
    assert answered(smsc, 2) == 2


def test_a_long_text_in_parts_comes_back_whole_with_its_euro_sign(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    body = "HELP 1234 " + "x" * 142 + "€" + " toll road closed, waiting"

    smsc.deliver_text(PHONE, body)
    [text] = gateway.inbound(wait_seconds=WAIT, at_least=1)

    assert text.text == body


def test_an_emoji_text_arrives_as_ucs2_and_reads_back_whole(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    body = "HELP 1234 " + "🚗" * 40 + " kø på E18"

    smsc.deliver_text(PHONE, body)
    [text] = gateway.inbound(wait_seconds=WAIT, at_least=1)

    assert text.text == body


def test_receipts_and_texts_arriving_together_are_kept_apart(
    smsc: LabSmsc, gateway: SmppGateway
) -> None:
    gateway.send(PHONE, "Your reply")
    smsc.deliver_text(PHONE, "help")

    texts = gateway.inbound(wait_seconds=WAIT, at_least=1)
    receipts = gateway.receipts(wait_seconds=WAIT, at_least=1)

    assert [t.text for t in texts] == ["help"]
    assert len(receipts) == 1


def test_the_lab_refuses_to_deliver_when_no_client_can_receive(
    smsc: LabSmsc,
) -> None:
    with pytest.raises(LookupError, match="no client is bound"):
        smsc.deliver_text(PHONE, "help")


def test_gsm7_text_reads_back_every_character_the_codec_knows() -> None:
    alphabet = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿az"
    text = alphabet + "äöñüà{}[]~|^\\€"

    assert gsm7_text(gsm7_octets(text)) == text
    assert gsm7_text(text.encode("gsm03.38")) == text


def test_parts_of_a_text_are_put_together_in_any_order() -> None:
    reassembly = Reassembly()

    first = reassembly.add(PHONE, Part(7, 3, 3), b"C")
    second = reassembly.add(PHONE, Part(7, 3, 1), b"A")
    whole = reassembly.add(PHONE, Part(7, 3, 2), b"B")

    assert (first, second, whole) == (None, None, b"ABC")
    assert reassembly.waiting == 0


def test_a_user_data_header_with_a_16_bit_reference_is_read() -> None:
    payload = bytes([6, 8, 4, 0x12, 0x34, 2, 1]) + b"hi"

    part, body = split_user_data(payload, udhi=True)

    assert part == Part(0x1234, 2, 1)
    assert body == b"hi"


@pytest.mark.parametrize(
    ("payload", "coding", "text"),
    [
        (b"PU", 0x01, "PU"),
        ("Kø".encode("latin-1"), 0x03, "Kø"),
        ("😀".encode("utf-16-be"), 0x08, "😀"),
    ],
)
def test_texts_are_read_in_the_data_coding_they_name(
    payload: bytes, coding: int, text: str
) -> None:
    assert decode_text(payload, coding) == text


def test_only_an_international_sender_gets_a_plus() -> None:
    assert sender_number("4791234567", 1) == "+4791234567"
    assert sender_number("91234567", 0) == "91234567"
