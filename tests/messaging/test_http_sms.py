"""The HTTP SMS API adapter against the lab provider on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest

from controlroom.errors import ConfigurationError, MessagingError
from controlroom.messaging.gateway import (
    SmsGatewayAccessDenied,
    SmsGatewayUnavailable,
    SmsRejected,
    SmsThrottled,
)
from controlroom.messaging.http_sms import (
    CallbackSignatureInvalid,
    DeliveryState,
    HttpSmsGateway,
    HttpSmsThrottled,
    delivery_state,
    sign_callback,
)
from controlroom.messaging.http_sms_lab import LabFault, LabSmsProvider
from controlroom.messaging.receipts import IdSource, Outcome, match_receipt

ACCOUNT = "AC0123456789abcdef"
TOKEN = "lab-token-s3cret-7f2a"
PHONE = "+4791234567"
CALLBACK = "https://control.example.test/sms/status"


@pytest.fixture
def provider() -> Iterator[LabSmsProvider]:
    with LabSmsProvider(account_id=ACCOUNT, auth_token=TOKEN) as lab:
        yield lab


@pytest.fixture
def gateway(provider: LabSmsProvider) -> Iterator[HttpSmsGateway]:
    with HttpSmsGateway(
        provider.url,
        account_id=ACCOUNT,
        auth_token=TOKEN,
        status_callback_url=CALLBACK,
        timeout_seconds=0.3,
    ) as client:
        yield client


def test_a_gsm7_text_is_posted_and_its_id_comes_back(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    text = "Parcel CP-7K2Q is out for delivery, ETA 14:00 @ depot Øst €5"

    ids = gateway.send(PHONE, text)

    [sent] = provider.messages
    assert ids == [sent.sid]
    assert (sent.to, sent.sender, sent.body, sent.segments) == (
        PHONE,
        "CryptoPack",
        text,
        1,
    )


def test_a_ucs2_text_with_emoji_arrives_unchanged_and_counted_in_segments(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    text = "Посылка в пути 🚚 " * 5

    ids = gateway.send(PHONE, text)

    [sent] = provider.messages
    assert ids == [sent.sid]
    assert sent.body == text
    assert sent.segments == 2


def test_a_provider_segment_count_unlike_ours_is_logged_as_a_warning(
    provider: LabSmsProvider,
    gateway: HttpSmsGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider.segments_override = 3

    with caplog.at_level(logging.WARNING, logger="controlroom.messaging.http_sms"):
        gateway.send(PHONE, "Short GSM text")

    assert "segment count differs" in caplog.text
    assert "provider=3 planned=1" in caplog.text


def test_polling_reports_sent_then_delivered(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    [sid] = gateway.send(PHONE, "Your parcel is on its way")

    first = gateway.status(sid)
    second = gateway.status(sid)

    assert (first.state, second.state) == (DeliveryState.SENT, DeliveryState.DELIVERED)


def test_receipts_polls_until_each_message_is_final_and_returns_it_once(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    [ok] = gateway.send(PHONE, "Delivered soon")
    [lost] = gateway.send("+4790000000", "Never arrives")
    provider.set_final_status(lost, "undelivered")

    found = gateway.receipts(wait_seconds=2.0, at_least=2)
    again = gateway.receipts()

    outcomes = {receipt.message_id: receipt.outcome for receipt in found}
    assert outcomes == {ok: Outcome.DELIVERED, lost: Outcome.FAILED}
    assert again == []


def test_a_polled_receipt_matches_its_message_exactly(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    [sid] = gateway.send(PHONE, "Match me")

    [receipt] = gateway.receipts(wait_seconds=2.0, at_least=1)

    assert receipt.id_source is IdSource.TLV
    assert match_receipt(receipt, [sid, "SM0"]) == sid


def test_a_signed_callback_is_accepted_and_settles_the_message(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    [sid] = gateway.send(PHONE, "Callback please")
    provider.set_final_status(sid, "undelivered")
    body, headers = provider.status_callback(sid, CALLBACK)

    receipt = gateway.parse_status_callback(body, headers)

    assert (receipt.message_id, receipt.stat, receipt.outcome) == (
        sid,
        "UNDELIVERED",
        Outcome.FAILED,
    )
    assert receipt.error_code == "30003"
    assert gateway.receipts() == [receipt]


def test_a_callback_signed_with_another_token_is_refused(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    [sid] = gateway.send(PHONE, "Callback please")
    body, headers = provider.status_callback(sid, CALLBACK, token="guessed")

    with pytest.raises(CallbackSignatureInvalid, match="missing or wrong"):
        gateway.parse_status_callback(body, headers)


def test_a_callback_whose_body_was_altered_is_refused(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    [sid] = gateway.send(PHONE, "Callback please")
    provider.set_final_status(sid, "undelivered")
    body, headers = provider.status_callback(sid, CALLBACK)
    forged = body.replace(b"undelivered", b"delivered")

    with pytest.raises(CallbackSignatureInvalid, match="Ignored"):
        gateway.parse_status_callback(forged, headers)


def test_a_callback_without_a_signature_is_refused(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    [sid] = gateway.send(PHONE, "Callback please")
    body, _ = provider.status_callback(sid, CALLBACK)

    with pytest.raises(CallbackSignatureInvalid, match="X-Twilio-Signature"):
        gateway.parse_status_callback(body, {})


def test_throttling_raises_sms_throttled_with_the_retry_after(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    provider.fault = LabFault.THROTTLE
    provider.retry_after = "7"

    with pytest.raises(SmsThrottled, match="Wait 7 seconds") as raised:
        gateway.send(PHONE, "Hello")

    assert isinstance(raised.value, HttpSmsThrottled)
    assert raised.value.retry_after_seconds == 7.0


def test_a_rejection_raises_sms_rejected_with_the_providers_reason(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    provider.fault = LabFault.REJECT

    with pytest.raises(SmsRejected, match="not a valid phone number") as raised:
        gateway.send(PHONE, "Hello")

    assert raised.value.status == 21211


def test_a_server_error_raises_gateway_unavailable(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    provider.fault = LabFault.SERVER_ERROR

    with pytest.raises(SmsGatewayUnavailable, match="failed on its side"):
        gateway.send(PHONE, "Hello")


def test_a_slow_provider_raises_gateway_unavailable(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    provider.fault = LabFault.SLOW

    with pytest.raises(SmsGatewayUnavailable, match="did not answer in time"):
        gateway.send(PHONE, "Hello")


def test_a_refused_token_raises_access_denied(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    provider.fault = LabFault.WRONG_TOKEN

    with pytest.raises(SmsGatewayAccessDenied, match="refused our credentials"):
        gateway.send(PHONE, "Hello")


def test_an_oversized_answer_is_cut_off_as_gateway_unavailable(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    provider.fault = LabFault.OVERSIZED

    with pytest.raises(SmsGatewayUnavailable, match="answer over 65536 bytes"):
        gateway.send(PHONE, "Hello")


def test_a_redirect_is_not_followed(
    provider: LabSmsProvider, gateway: HttpSmsGateway
) -> None:
    provider.fault = LabFault.REDIRECT

    with pytest.raises(SmsGatewayUnavailable, match="redirect \\(307\\)"):
        gateway.send(PHONE, "Hello")


def test_the_callback_signature_matches_the_providers_published_example() -> None:
    # The worked example in Twilio's request-validation documentation.
    fields = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }

    signature = sign_callback(
        "12345", "https://mycompany.com/myapp.php?foo=1&bar=2", fields
    )

    assert signature == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_a_closed_port_raises_gateway_unavailable() -> None:
    with LabSmsProvider(account_id=ACCOUNT, auth_token=TOKEN) as lab:
        url = lab.url
    client = HttpSmsGateway(url, account_id=ACCOUNT, auth_token=TOKEN)

    with pytest.raises(SmsGatewayUnavailable, match="cannot be reached"):
        client.send(PHONE, "Hello")


def test_the_token_is_never_in_a_log_or_an_error_message(
    provider: LabSmsProvider,
    gateway: HttpSmsGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    basic = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    errors: list[str] = []

    with caplog.at_level(logging.DEBUG):
        [sid] = gateway.send(PHONE, "Hello")
        gateway.receipts(wait_seconds=2.0, at_least=1)
        for fault in (LabFault.THROTTLE, LabFault.REJECT, LabFault.WRONG_TOKEN):
            provider.fault = fault
            with pytest.raises(MessagingError) as raised:
                gateway.send(PHONE, "Hello")
            errors.append(str(raised.value))
        body, headers = provider.status_callback(sid, CALLBACK, token="guessed")
        with pytest.raises(MessagingError) as forged:
            gateway.parse_status_callback(body, headers)
        errors.append(str(forged.value))

    seen = caplog.text + "\n".join(errors)
    assert caplog.records
    assert TOKEN not in seen
    assert basic not in seen


def test_an_unknown_status_word_is_refused_rather_than_guessed() -> None:
    with pytest.raises(MessagingError, match="not one we know"):
        delivery_state("vanished")


def test_a_missing_token_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="auth token is empty"):
        HttpSmsGateway("http://127.0.0.1:9", account_id=ACCOUNT, auth_token="")
