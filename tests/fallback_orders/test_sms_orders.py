"""Ordering by SMS: the order is spooled and answered with code, address, amount."""

from __future__ import annotations

import errno
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import controlroom.fallback_orders.spool_files as spool_files
from controlroom.errors import ConfigurationError
from controlroom.fallback_orders.fallback_order import FallbackOrder
from controlroom.fallback_orders.sms_orders import (
    REPEAT_WINDOW,
    answer_order_text,
    answer_order_texts,
)
from controlroom.fallback_orders.spool import Spool, read_spool
from controlroom.fallback_orders.spool_wallet import SpoolWallet, spool_wallet
from controlroom.messaging.gsm_octets import gsm7_text
from controlroom.messaging.inbound import InboundText
from controlroom.messaging.receipts import Receipt
from controlroom.messaging.smpp_gateway import SmppGateway
from controlroom.messaging.smsc_lab import LabSmsc, SubmittedMessage
from controlroom.orders.codes import is_valid_code
from controlroom.payments.addresses import Network

AT = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
CUSTOMER = "+4791234567"
# Receive addresses 0 and 1 of the demo's fallback account m/84'/1'/1'.
XPRV = (
    "tprv8ZgxMBicQKsPd7Uf69XL1XwhmjHopUGep8GuEiJDZmbQz6o58LninorQAfcKZWARbtRtfnLcJ"
    "5MoRwJoiLpVMrXJ9Hf6sKnNuNQTp6PygHp"
)


def order_of(record_order: object) -> FallbackOrder:
    assert isinstance(record_order, dict)
    return FallbackOrder.from_json(record_order)


def test_an_order_text_is_spooled_and_answered_with_code_address_and_amount(
    spool: Spool, demo_fallback_wallet: SpoolWallet
) -> None:
    answer = answer_order_text(
        spool,
        wallet=demo_fallback_wallet,
        phone=CUSTOMER,
        text="order 0155 0364 m",
        at=AT,
    )

    assert answer.new and answer.record is not None
    order = order_of(answer.record.order)
    assert answer.record.channel == "sms"
    assert is_valid_code(order.code)
    assert (order.sender.postcode, order.sender.phone) == ("0155", CUSTOMER)
    assert (order.recipient.postcode, order.size, order.price_sat) == (
        "0364",
        "M",
        28_000,
    )
    assert order.pay_to is not None
    assert order.pay_to.address == demo_fallback_wallet.address(0)
    assert order.pay_to.address.startswith("bcrt1q")
    assert answer.reply == (
        f"CryptoPack order {order.code} accepted: size M from 0155 to 0364. "
        f"Pay 0.00028000 BTC (28000 sat) to {order.pay_to.address} within 60 "
        "min. We call you to agree the pickup. Keep the code to track the parcel."
    )


def test_each_order_gets_the_next_address_of_the_wallet(
    spool: Spool, demo_fallback_wallet: SpoolWallet
) -> None:
    addresses = []
    for number, text in enumerate(["ORDER 0155 0364 S", "ORDER 0450 0364 L"]):
        answer = answer_order_text(
            spool,
            wallet=demo_fallback_wallet,
            phone=CUSTOMER,
            text=text,
            at=AT + timedelta(minutes=number),
        )
        assert answer.record is not None
        pay_to = order_of(answer.record.order).pay_to
        assert pay_to is not None
        addresses.append((pay_to.index, pay_to.address))

    assert addresses == [(i, demo_fallback_wallet.address(i)) for i in (0, 1)]
    assert len(set(addresses)) == 2


def test_the_same_text_delivered_three_times_is_one_order(
    spool: Spool, demo_fallback_wallet: SpoolWallet
) -> None:
    answers = [
        answer_order_text(
            spool,
            wallet=demo_fallback_wallet,
            phone=CUSTOMER,
            text=text,
            at=AT + timedelta(minutes=minute),
        )
        for minute, text in [
            (0, "ORDER 0155 0364 M"),
            (1, "order 0155,0364 m"),
            (9, "ORDER 0155 0364 medium"),
        ]
    ]

    assert [a.new for a in answers] == [True, False, False]
    assert len({a.reply for a in answers}) == 1
    assert len(spool.records()) == 1


def test_the_same_order_after_the_repeat_window_is_a_new_order(
    spool: Spool, demo_fallback_wallet: SpoolWallet
) -> None:
    for at in (AT, AT + REPEAT_WINDOW + timedelta(seconds=1)):
        answer_order_text(
            spool,
            wallet=demo_fallback_wallet,
            phone=CUSTOMER,
            text="ORDER 0155 0364 M",
            at=at,
        )

    assert len(spool.records()) == 2


@pytest.mark.parametrize("text", ["HELP", "ORDER 0155 M", "hello", ""])
def test_help_and_bad_texts_are_answered_and_store_nothing(
    spool: Spool, demo_fallback_wallet: SpoolWallet, text: str
) -> None:
    answer = answer_order_text(
        spool, wallet=demo_fallback_wallet, phone=CUSTOMER, text=text, at=AT
    )

    assert answer.record is None
    assert "ORDER 0155 0364 M" in answer.reply
    assert spool.records() == ()


def test_the_spool_wallet_refuses_a_private_key() -> None:
    with pytest.raises(ConfigurationError, match="wallet key cannot be used"):
        spool_wallet(XPRV, network=Network.REGTEST)


def test_the_spool_wallet_starts_at_its_first_index(
    spool: Spool, demo_fallback_wallet: SpoolWallet
) -> None:
    wallet = spool_wallet(
        demo_fallback_wallet.key.account_key, network=Network.REGTEST, first_index=50
    )

    answer = answer_order_text(
        spool, wallet=wallet, phone=CUSTOMER, text="ORDER 0155 0364 M", at=AT
    )

    assert answer.record is not None
    pay_to = order_of(answer.record.order).pay_to
    assert pay_to is not None and pay_to.index == 50


def sent_text(message: SubmittedMessage) -> str:
    data = message.short_message
    if message.udhi:
        data = data[1 + data[0] :]
    if message.data_coding == 0x08:
        return data.decode("utf-16-be")
    return gsm7_text(data)


def test_an_order_texted_through_the_smsc_is_spooled_and_the_reply_sent_back(
    tmp_path: Path, demo_fallback_wallet: SpoolWallet
) -> None:
    spool = Spool(tmp_path / "spool")
    with (
        LabSmsc(system_id="cryptopack", password="lab-pw42") as smsc,
        SmppGateway(
            "127.0.0.1",
            smsc.port,
            system_id="cryptopack",
            password="lab-pw42",
            timeout_seconds=0.5,
        ) as gateway,
    ):
        smsc.deliver_text(CUSTOMER, "Order 0155 0364 L +47 400 00 001")
        texts = gateway.inbound(wait_seconds=2.0, at_least=1)
        result = answer_order_texts(spool, gateway, texts, wallet=demo_fallback_wallet)
        submitted = smsc.submitted

    [answer] = result.answered
    assert result.failed == []
    [record] = read_spool(tmp_path / "spool").records
    order = order_of(record.order)
    assert (order.size, order.recipient.phone) == ("L", "+4740000001")
    assert {m.destination for m in submitted} == {CUSTOMER.lstrip("+")}
    reply = "".join(sent_text(m) for m in submitted)
    assert reply == answer.reply
    assert order.code in reply and "0.00036000 BTC" in reply


class RecordingGateway:
    """Keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> list[str]:
        self.sent.append((phone, text))
        return [str(len(self.sent))]

    def receipts(
        self, *, wait_seconds: float = 0.0, at_least: int = 0
    ) -> list[Receipt]:
        return []


def test_a_text_whose_order_cannot_be_written_gets_no_reply_and_is_kept(
    spool: Spool, demo_fallback_wallet: SpoolWallet, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(segment: Path, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spool_files, "append", disk_full)
    gateway = RecordingGateway()
    text = InboundText(CUSTOMER, "ORDER 0155 0364 M", AT)

    result = answer_order_texts(spool, gateway, [text], wallet=demo_fallback_wallet)

    assert result.failed == [text]
    assert gateway.sent == []
    assert spool.records() == ()
    monkeypatch.undo()
    retried = answer_order_texts(spool, gateway, [text], wallet=demo_fallback_wallet)
    assert [a.new for a in retried.answered] == [True]
    assert len(gateway.sent) == 1
