"""Sending SMS through a provider's HTTP API, in the shape of Twilio's Messages API.

The shape followed is Twilio's Programmable Messaging REST API (version
2010-04-01), which many providers' SMS APIs resemble:

* send: ``POST {base}/2010-04-01/Accounts/{account}/Messages.json`` with a
  form body ``To``, ``From``, ``Body`` and optionally ``StatusCallback``;
  the account id and auth token go in an HTTP Basic ``Authorization``
  header. The answer is JSON with the message ``sid``, its ``status`` and
  ``num_segments``, the segments the provider bills (a string);
* poll: ``GET .../Messages/{sid}.json`` gives the same JSON with the status
  now;
* callback: the provider POSTs a form body with ``MessageSid``,
  ``MessageStatus`` and ``ErrorCode`` to the ``StatusCallback`` URL, signed
  in ``X-Twilio-Signature``: base64 of HMAC-SHA1 under the auth token over
  the full callback URL followed by every form field's name and value,
  sorted by name;
* errors: JSON ``{"code", "message", "more_info", "status"}``.

The provider splits the text itself and answers with one id for the whole
message, so :meth:`HttpSmsGateway.send` returns a one-element list; the
provider's segment count is compared with our :func:`plan_sms`, and a
difference is logged as a warning because it means a different bill.

The auth token is only ever put in the ``Authorization`` header; it is
never logged and never put in an error message.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import httpx

from controlroom.errors import ConfigurationError, MessagingError
from controlroom.messaging.gateway import (
    SmsGatewayAccessDenied,
    SmsGatewayUnavailable,
    SmsRejected,
    SmsThrottled,
)
from controlroom.messaging.receipts import IdSource, Outcome, Receipt
from controlroom.messaging.segments import plan_sms

logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_RESPONSE_BYTES = 64 * 1024


class DeliveryState(enum.StrEnum):
    """A recipient's delivery state for one SMS, as the control room shows it."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


# The provider's status words (Twilio's list) and what they mean for us.
# "sent" means the carrier took it; only "delivered" is a handset receipt.
_STATES = {
    "accepted": DeliveryState.QUEUED,
    "scheduled": DeliveryState.QUEUED,
    "queued": DeliveryState.QUEUED,
    "sending": DeliveryState.QUEUED,
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.DELIVERED,
    "undelivered": DeliveryState.FAILED,
    "failed": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
}
_OUTCOMES = {
    DeliveryState.QUEUED: Outcome.PENDING,
    DeliveryState.SENT: Outcome.PENDING,
    DeliveryState.DELIVERED: Outcome.DELIVERED,
    DeliveryState.FAILED: Outcome.FAILED,
}


def delivery_state(status: str) -> DeliveryState:
    """Map a provider status word to queued, sent, delivered or failed.

    Raises
    ------
    MessagingError
        The word is not one the provider documents; guessing could count a
        lost message as delivered.
    """
    state = _STATES.get(status.strip().lower())
    if state is None:
        raise MessagingError(
            f"The SMS provider reported status {status!r}, which is not one we "
            f"know ({', '.join(_STATES)}); the message's fate is unknown."
        )
    return state


class HttpSmsThrottled(SmsThrottled):
    """The provider answered 429; ``retry_after_seconds`` is its Retry-After."""

    def __init__(
        self,
        message: str,
        *,
        gateway: str,
        status: int,
        retry_after_seconds: float | None,
        sent_ids: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, gateway=gateway, status=status, sent_ids=sent_ids)
        self.retry_after_seconds = retry_after_seconds


class CallbackSignatureInvalid(MessagingError):
    """A status callback's signature is missing or wrong: it is not trusted."""


@dataclass(frozen=True)
class MessageStatus:
    """A message's status as the provider reports it now."""

    message_id: str
    status: str
    state: DeliveryState
    error_code: str | None = None

    def receipt(self) -> Receipt:
        """This status as a :class:`Receipt`.

        The id is the provider's own, so it is matched exactly as sent, which
        is what ``IdSource.TLV`` means to :func:`explain_match`.
        """
        return Receipt(
            message_id=self.message_id,
            id_source=IdSource.TLV,
            stat=self.status.upper(),
            outcome=_OUTCOMES[self.state],
            error_code=self.error_code,
        )


class HttpSmsGateway:
    """An SMS gateway that talks to a provider's HTTP Messages API.

    Parameters
    ----------
    base_url
        The API's root, e.g. ``https://api.example.net``; the version path is
        added here.
    account_id, auth_token
        The account and its secret token, sent as HTTP Basic credentials.
    source
        The sender: a number in E.164 or an alphanumeric sender id.
    status_callback_url
        Where the provider should POST status changes; also the URL the
        callback signature is computed over. None to rely on polling.
    timeout_seconds
        How long to wait to connect and for each read.

    Raises
    ------
    ConfigurationError
        The base URL, account id or token is missing or malformed.
    """

    def __init__(
        self,
        base_url: str,
        *,
        account_id: str,
        auth_token: str,
        source: str = "CryptoPack",
        status_callback_url: str | None = None,
        timeout_seconds: float = 5.0,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigurationError(
                f"SMS API URL {base_url!r} is not an http(s) URL with a host.",
                setting="base_url",
            )
        if not account_id or "/" in account_id:
            raise ConfigurationError(
                "The SMS API account id is empty or contains '/'; copy it "
                "from the provider's console.",
                setting="account_id",
            )
        if not auth_token:
            raise ConfigurationError(
                "The SMS API auth token is empty; set it from the provider's console.",
                setting="auth_token",
            )
        self.name = f"SMS API {url.host}"
        self._token = auth_token
        self._source = source
        self._callback_url = status_callback_url
        self._messages = f"/{API_VERSION}/Accounts/{account_id}/Messages"
        self._outstanding: list[str] = []
        self._arrived: list[Receipt] = []
        self._client = httpx.Client(
            base_url=str(url).rstrip("/"),
            auth=(account_id, auth_token),
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
            # No proxies or netrc from the environment: the token goes
            # only to the URL configured here.
            trust_env=False,
            headers={"Accept": "application/json"},
        )

    def __enter__(self) -> HttpSmsGateway:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def send(self, phone: str, text: str) -> list[str]:
        """Send ``text`` to ``phone`` as one API message.

        Returns
        -------
        list[str]
            The provider's one id for the whole message.

        Raises
        ------
        MessagingError
            The text cannot be sent as SMS (empty, too long).
        SmsThrottled
            429; an :class:`HttpSmsThrottled` with the Retry-After.
        SmsRejected
            Another 4xx; the message gives the provider's reason.
        SmsGatewayAccessDenied
            401 or 403: the account id or token is wrong.
        SmsGatewayUnavailable
            5xx, a redirect, a timeout or a broken connection.
        """
        plan = plan_sms(text)
        form = {"To": phone, "From": self._source, "Body": text}
        if self._callback_url is not None:
            form["StatusCallback"] = self._callback_url
        answer = self._call("POST", f"{self._messages}.json", form)

        message_id = answer.get("sid")
        if not isinstance(message_id, str) or not message_id:
            raise self._unavailable("answered a send without a message id")
        counted = _segment_count(answer.get("num_segments"))
        if counted is not None and counted != plan.segment_count:
            logger.warning(
                "sms segment count differs gateway=%s message_id=%s "
                "provider=%s planned=%s encoding=%s",
                self.name,
                message_id,
                counted,
                plan.segment_count,
                plan.encoding,
            )
        self._outstanding.append(message_id)
        logger.info(
            "sms sent gateway=%s message_id=%s segments=%s encoding=%s",
            self.name,
            message_id,
            plan.segment_count,
            plan.encoding,
        )
        return [message_id]

    def status(self, message_id: str) -> MessageStatus:
        """Ask the provider for a message's status now (``GET`` by id).

        Raises the same errors as :meth:`send`.
        """
        if not message_id or "/" in message_id:
            raise MessagingError(f"{message_id!r} is not a message id.")
        answer = self._call("GET", f"{self._messages}/{message_id}.json", None)
        return _message_status(answer, message_id)

    def receipts(
        self, *, wait_seconds: float = 0.0, at_least: int = 0
    ) -> list[Receipt]:
        """Poll every message not yet final; return the final statuses, once.

        Receipts from :meth:`parse_status_callback` for messages this gateway
        sent are returned here too. Polls again, every 0.1 s, up to
        ``wait_seconds`` while fewer than ``at_least`` have arrived. A poll
        that fails raises as :meth:`send` does; receipts already in are kept
        for the next call.
        """
        deadline = time.monotonic() + wait_seconds
        while True:
            for message_id in list(self._outstanding):
                found = self.status(message_id)
                if found.state in (DeliveryState.DELIVERED, DeliveryState.FAILED):
                    self._settle(found.receipt())
            if len(self._arrived) >= at_least or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        found_all, self._arrived = self._arrived, []
        return found_all

    def parse_status_callback(
        self, body: bytes, headers: Mapping[str, str], *, url: str | None = None
    ) -> Receipt:
        """Read a signed status callback the provider POSTed to us.

        Parameters
        ----------
        body
            The raw form-encoded request body.
        headers
            The request's headers (any case).
        url
            The full URL the provider called; defaults to the configured
            ``status_callback_url``.

        Raises
        ------
        CallbackSignatureInvalid
            The signature is missing or does not match: the body may be
            forged and is ignored.
        MessagingError
            The body names no message or an unknown status.
        """
        called = url if url is not None else self._callback_url
        if called is None:
            raise ConfigurationError(
                "No status callback URL is configured, so a callback's "
                "signature cannot be checked.",
                setting="status_callback_url",
            )
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        given = _header(headers, SIGNATURE_HEADER)
        expected = sign_callback(self._token, called, fields)
        if given is None or not hmac.compare_digest(given, expected):
            logger.warning("sms callback signature refused gateway=%s", self.name)
            raise CallbackSignatureInvalid(
                f"A status callback to {called} has a missing or wrong "
                f"{SIGNATURE_HEADER}; it was not sent by {self.name} with our "
                "token, or the URL differs from the one configured. Ignored."
            )
        message_id = fields.get("MessageSid") or fields.get("SmsSid")
        if not message_id:
            raise MessagingError("A signed status callback names no MessageSid.")
        status = fields.get("MessageStatus") or fields.get("SmsStatus") or ""
        found = MessageStatus(
            message_id=message_id,
            status=status,
            state=delivery_state(status),
            error_code=fields.get("ErrorCode") or None,
        )
        receipt = found.receipt()
        if receipt.outcome is not Outcome.PENDING:
            self._settle(receipt)
        return receipt

    def _settle(self, receipt: Receipt) -> None:
        if receipt.message_id in self._outstanding:
            self._outstanding.remove(receipt.message_id)
            self._arrived.append(receipt)

    def _call(
        self, method: str, path: str, form: dict[str, str] | None
    ) -> dict[str, Any]:
        try:
            with self._client.stream(method, path, data=form) as response:
                raw = _read_capped(response)
        except httpx.TimeoutException:
            raise self._unavailable("did not answer in time") from None
        except httpx.HTTPError as exc:
            raise self._unavailable(
                f"cannot be reached ({type(exc).__name__})"
            ) from None
        except _TooLarge:
            raise self._unavailable(
                f"sent an answer over {MAX_RESPONSE_BYTES} bytes"
            ) from None

        code = response.status_code
        if code < 300:
            answer = _json(raw)
            if answer is None:
                raise self._unavailable(f"answered {code} with no JSON object")
            return answer
        if 300 <= code < 400:
            raise self._unavailable(
                f"answered with a redirect ({code}); check the API URL"
            )
        reason, provider_code = _problem(raw)
        if code in (401, 403):
            raise SmsGatewayAccessDenied(
                f"{self.name} refused our credentials ({code}: {reason}); check "
                "the account id and auth token in the provider's console.",
                gateway=self.name,
            )
        if code == 429:
            wait = _retry_after(response.headers.get("Retry-After"))
            when = (
                "Wait a minute" if wait is None else f"Wait {wait:g} seconds as it asks"
            )
            raise HttpSmsThrottled(
                f"{self.name} is throttling us (429: {reason}). {when} and "
                "send again, or lower the sending rate.",
                gateway=self.name,
                status=provider_code or code,
                retry_after_seconds=wait,
            )
        if code < 500:
            raise SmsRejected(
                f"{self.name} rejected the message ({code}: {reason}). Check "
                "the phone number and text; if they are right, ask the "
                "provider why.",
                gateway=self.name,
                status=provider_code or code,
            )
        raise self._unavailable(f"failed on its side ({code}: {reason})")

    def _unavailable(self, what: str) -> SmsGatewayUnavailable:
        return SmsGatewayUnavailable(
            f"{self.name} {what}. Try again shortly; if it persists, use "
            "another gateway.",
            gateway=self.name,
        )


def sign_callback(token: str, url: str, fields: Mapping[str, str]) -> str:
    """The signature of a status callback: base64 HMAC-SHA1 of URL and fields.

    The fields are appended to the URL as name then value, sorted by name.
    """
    signed = url + "".join(f"{name}{fields[name]}" for name in sorted(fields))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class _TooLarge(Exception):
    pass


def _read_capped(response: httpx.Response) -> bytes:
    # Read no more than the cap, whatever Content-Length claims, so a broken
    # or hostile endpoint cannot fill our memory.
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _problem(raw: bytes) -> tuple[str, int | None]:
    answer = _json(raw)
    if answer is None:
        return "no reason given", None
    reason = answer.get("message")
    code = answer.get("code")
    text = str(reason)[:200] if reason else "no reason given"
    if isinstance(code, int):
        text = f"{text} [provider code {code}]"
        return text, code
    return text, None


def _retry_after(value: str | None) -> float | None:
    # Seconds only; an HTTP date is rare from APIs and is read as "unknown".
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _segment_count(value: object) -> int | None:
    # Twilio sends num_segments as a string, and "0" before a sender is chosen.
    try:
        count = int(str(value))
    except ValueError:
        return None
    return count if count > 0 else None


def _message_status(answer: Mapping[str, Any], message_id: str) -> MessageStatus:
    status = answer.get("status")
    if not isinstance(status, str):
        raise MessagingError(
            f"The SMS provider's answer for message {message_id} has no status."
        )
    code = answer.get("error_code")
    return MessageStatus(
        message_id=str(answer.get("sid") or message_id),
        status=status,
        state=delivery_state(status),
        error_code=None if code is None else str(code),
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
