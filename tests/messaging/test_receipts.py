"""Delivery receipts read from SMPP deliver_sm PDUs and matched to messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from controlroom.errors import MessagingError
from controlroom.messaging.receipts import (
    MESSAGE_STATE,
    RECEIPTED_MESSAGE_ID,
    IdForm,
    IdSource,
    Outcome,
    explain_match,
    match_receipt,
    parse_receipt,
)

NO_TLVS: dict[int, bytes] = {}


def receipt_text(message_id: str = "0000001000", stat: str = "DELIVRD") -> str:
    return (
        f"id:{message_id} sub:001 dlvrd:001 submit date:2612050004 "
        f"done date:2612050006 stat:{stat} err:000 text:Your parcel is on"
    )


def test_decimal_text_id_with_no_tlv_matches_the_hex_id_we_were_given() -> None:
    receipt = parse_receipt(receipt_text("0000001000"), NO_TLVS)

    matched = match_receipt(receipt, ["3e8", "3e9"])

    assert matched == "3e8"
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.id_source is IdSource.TEXT


def test_receipt_fields_are_read_with_done_time_in_utc() -> None:
    receipt = parse_receipt(receipt_text("0000001000"), NO_TLVS)

    assert receipt.message_id == "0000001000"
    assert receipt.stat == "DELIVRD"
    assert receipt.error_code == "000"
    assert receipt.submitted_at == datetime(2026, 12, 5, 0, 4, tzinfo=UTC)
    assert receipt.done_at == datetime(2026, 12, 5, 0, 6, tzinfo=UTC)
    assert receipt.text == "Your parcel is on"


def test_done_time_in_an_smsc_zone_is_converted_to_utc() -> None:
    berlin_winter = timezone(timedelta(hours=1))

    receipt = parse_receipt(receipt_text(), NO_TLVS, smsc_zone=berlin_winter)

    assert receipt.done_at == datetime(2026, 12, 4, 23, 6, tzinfo=UTC)


def test_done_time_with_seconds_is_read() -> None:
    text = "id:7 done date:261205000659 stat:DELIVRD"

    receipt = parse_receipt(text, NO_TLVS)

    assert receipt.done_at == datetime(2026, 12, 5, 0, 6, 59, tzinfo=UTC)


def test_tlv_id_is_preferred_over_the_text_id() -> None:
    tlvs = {RECEIPTED_MESSAGE_ID: b"3E8\x00"}

    receipt = parse_receipt(receipt_text("0000009999"), tlvs)

    assert receipt.message_id == "3E8"
    assert receipt.id_source is IdSource.TLV
    assert match_receipt(receipt, ["3e8", "270f"]) == "3e8"


def test_tlv_id_is_compared_only_as_sent_not_across_bases() -> None:
    tlvs = {RECEIPTED_MESSAGE_ID: b"1000"}
    receipt = parse_receipt(receipt_text(), tlvs)

    found = explain_match(receipt, ["3e8"])

    assert found.sent_id is None
    assert "no sent message" in found.reason


def test_empty_tlv_id_falls_back_to_the_text_id() -> None:
    receipt = parse_receipt(receipt_text("42"), {RECEIPTED_MESSAGE_ID: b"\x00"})

    assert receipt.message_id == "42"
    assert receipt.id_source is IdSource.TEXT


@pytest.mark.parametrize(
    ("text_id", "sent_id", "form"),
    [
        ("0000001000", "3e8", IdForm.DECIMAL_OF_HEX),
        ("1000", "3E8", IdForm.DECIMAL_OF_HEX),
        ("3e8", "1000", IdForm.HEX_OF_DECIMAL),
        ("0000001000", "1000", IdForm.AS_SENT),
        ("00ABCDEF", "abcdef", IdForm.AS_SENT),
        ("c0ffee-Z1", "C0FFEE-z1", IdForm.AS_SENT),
    ],
)
def test_text_ids_match_in_hex_decimal_or_zero_padded(
    text_id: str, sent_id: str, form: IdForm
) -> None:
    receipt = parse_receipt(receipt_text(text_id), NO_TLVS)

    found = explain_match(receipt, [sent_id, "ffffff1"])

    assert found.sent_id == sent_id
    assert found.reason == f"matched {form}"


def test_two_sent_ids_that_could_match_give_no_match_with_a_reason() -> None:
    receipt = parse_receipt(receipt_text("0000001000"), NO_TLVS)

    found = explain_match(receipt, ["3e8", "1000"])

    assert found.sent_id is None
    assert set(found.candidates) == {"3e8", "1000"}
    assert "more than one sent message" in found.reason
    assert match_receipt(receipt, ["3e8", "1000"]) is None


def test_a_gateway_that_knows_its_smsc_can_rule_out_the_ambiguity() -> None:
    receipt = parse_receipt(receipt_text("0000001000"), NO_TLVS)

    found = explain_match(
        receipt, ["3e8", "1000"], text_id_forms=[IdForm.DECIMAL_OF_HEX]
    )

    assert found.sent_id == "3e8"


def test_a_receipt_for_a_message_we_never_sent_is_returned_unmatched() -> None:
    receipt = parse_receipt(receipt_text("77"), NO_TLVS)

    found = explain_match(receipt, ["3e8"])

    assert not found.matched
    assert found.receipt is receipt
    assert found.candidates == ()


@pytest.mark.parametrize(
    ("stat", "outcome"),
    [
        ("DELIVRD", Outcome.DELIVERED),
        ("UNDELIV", Outcome.FAILED),
        ("REJECTD", Outcome.FAILED),
        ("EXPIRED", Outcome.FAILED),
        ("DELETED", Outcome.FAILED),
        ("ACCEPTD", Outcome.PENDING),
        ("ENROUTE", Outcome.PENDING),
        ("UNKNOWN", Outcome.PENDING),
    ],
)
def test_each_stat_word_gives_its_outcome(stat: str, outcome: Outcome) -> None:
    receipt = parse_receipt(receipt_text(stat=stat), NO_TLVS)

    assert receipt.outcome is outcome
    assert receipt.stat == stat


@pytest.mark.parametrize(
    ("state", "name", "outcome"),
    [
        (1, "ENROUTE", Outcome.PENDING),
        (2, "DELIVERED", Outcome.DELIVERED),
        (3, "EXPIRED", Outcome.FAILED),
        (4, "DELETED", Outcome.FAILED),
        (5, "UNDELIVERABLE", Outcome.FAILED),
        (6, "ACCEPTED", Outcome.PENDING),
        (7, "UNKNOWN", Outcome.PENDING),
        (8, "REJECTED", Outcome.FAILED),
    ],
)
def test_each_message_state_tlv_gives_its_outcome(
    state: int, name: str, outcome: Outcome
) -> None:
    tlvs = {RECEIPTED_MESSAGE_ID: b"3e8\x00", MESSAGE_STATE: bytes([state])}

    receipt = parse_receipt(b"", tlvs)

    assert receipt.outcome is outcome
    assert receipt.stat == name


def test_lower_case_stat_and_keys_are_read() -> None:
    text = "ID:0000001000 SUB:001 DLVRD:001 Stat:delivrd Err:000"

    receipt = parse_receipt(text, NO_TLVS)

    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.stat == "DELIVRD"


def test_fields_in_another_order_with_extra_spaces_and_some_missing() -> None:
    text = "  stat : UNDELIV   err:  075  id :  0911897980   "

    receipt = parse_receipt(text, NO_TLVS)

    assert receipt.message_id == "0911897980"
    assert receipt.outcome is Outcome.FAILED
    assert receipt.error_code == "075"
    assert receipt.done_at is None
    assert receipt.text is None


def test_message_text_that_looks_like_fields_does_not_override_them() -> None:
    text = receipt_text(stat="UNDELIV").replace(
        "Your parcel is on", "stat:DELIVRD id:9"
    )

    receipt = parse_receipt(text, NO_TLVS)

    assert receipt.outcome is Outcome.FAILED
    assert receipt.message_id == "0000001000"
    assert receipt.text == "stat:DELIVRD id:9"


def test_latin1_bytes_with_a_nul_terminator_are_read() -> None:
    raw = receipt_text(stat="DELIVRD").replace("Your parcel is on", "Paket für Jürgen")
    short_message = raw.encode("latin-1") + b"\x00"

    receipt = parse_receipt(short_message, NO_TLVS)

    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.text == "Paket für Jürgen"


def test_unpacked_gsm_7bit_bytes_are_read() -> None:
    # GSM 03.38 puts "@" at 0x00 and "è" at 0x04; the receipt's own keys
    # and digits sit where ASCII has them.
    short_message = b"id:3e8 stat:DELIVRD err:000 text:Mail \x00 caf\x04"

    receipt = parse_receipt(short_message, NO_TLVS)

    assert receipt.message_id == "3e8"
    assert receipt.outcome is Outcome.DELIVERED


def test_an_unknown_stat_raises_rather_than_guessing() -> None:
    with pytest.raises(MessagingError, match="'stat:PENDING' is not one we know"):
        parse_receipt(receipt_text(stat="PENDING"), NO_TLVS)


def test_garbage_text_raises() -> None:
    with pytest.raises(MessagingError, match="is not a delivery receipt"):
        parse_receipt(b"\xff\xfe hello there", NO_TLVS)


def test_a_receipt_without_an_id_raises() -> None:
    with pytest.raises(MessagingError, match="names no message id"):
        parse_receipt("sub:001 dlvrd:001 stat:DELIVRD err:000", NO_TLVS)


def test_a_receipt_without_a_state_raises() -> None:
    with pytest.raises(MessagingError, match="neither 'stat:' in its text"):
        parse_receipt("id:3e8 sub:001 err:000", NO_TLVS)


def test_a_repeated_field_raises() -> None:
    with pytest.raises(MessagingError, match="gives 'stat' twice"):
        parse_receipt("id:3e8 stat:DELIVRD stat:UNDELIV", NO_TLVS)


def test_an_unreadable_done_date_raises() -> None:
    with pytest.raises(MessagingError, match="'2613450006' is not YYMMDDhhmm"):
        parse_receipt("id:3e8 done date:2613450006 stat:DELIVRD", NO_TLVS)


def test_an_unknown_stat_word_beside_a_message_state_tlv_is_let_pass() -> None:
    tlvs = {MESSAGE_STATE: bytes([2])}

    receipt = parse_receipt(receipt_text(stat="FINISHED"), tlvs)

    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.stat == "DELIVERED"


def test_a_two_digit_year_is_read_as_this_century() -> None:
    receipt = parse_receipt("id:7 done date:9912312359 stat:DELIVRD", NO_TLVS)

    assert receipt.done_at == datetime(2099, 12, 31, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize("date", ["26120500", "2612050006xx", "261205 0006"])
def test_a_done_date_of_the_wrong_shape_raises(date: str) -> None:
    with pytest.raises(MessagingError, match="is not YYMMDDhhmm"):
        parse_receipt(f"id:3e8 done date:{date} stat:DELIVRD", NO_TLVS)


def test_a_message_state_tlv_that_contradicts_the_text_raises() -> None:
    tlvs = {MESSAGE_STATE: bytes([5])}

    with pytest.raises(MessagingError, match="contradicts itself"):
        parse_receipt(receipt_text(stat="DELIVRD"), tlvs)


@pytest.mark.parametrize("raw", [b"", b"\x02\x00", b"\x2a"])
def test_a_malformed_message_state_tlv_raises(raw: bytes) -> None:
    with pytest.raises(MessagingError, match="not a one-octet state"):
        parse_receipt("id:3e8", {MESSAGE_STATE: raw})


def test_a_non_ascii_receipted_message_id_tlv_raises() -> None:
    with pytest.raises(MessagingError, match="is not ASCII text"):
        parse_receipt(receipt_text(), {RECEIPTED_MESSAGE_ID: b"\xe9\x00"})
