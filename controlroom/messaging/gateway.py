"""The SMS gateway interface, and the ways sending through one can fail.

::

    MessagingError                  (controlroom.errors)
     +-- SmsGatewayUnavailable      unreachable, dropped us, or too slow
     |    +-- SmsGatewayAccessDenied    refused our credentials
     +-- SmsRefused                 a segment was refused (``status``)
          +-- SmsThrottled          rate limited: wait, then send the rest
          +-- SmsRejected           the message itself was rejected

Every error carries ``gateway`` (a name, never a credential) and
``sent_ids``, the segments accepted before it, so a retry sends only the rest.
"""

from __future__ import annotations

from typing import Protocol

from controlroom.errors import MessagingError
from controlroom.messaging.receipts import Receipt


class SmsGateway(Protocol):
    """What the control room needs from any SMS gateway."""

    def send(self, phone: str, text: str) -> list[str]:
        """Send ``text`` to ``phone``; return one message id per segment."""
        ...

    def receipts(
        self, *, wait_seconds: float = 0.0, at_least: int = 0
    ) -> list[Receipt]:
        """Return the delivery receipts that have arrived."""
        ...


class SmsGatewayUnavailable(MessagingError):
    """The gateway cannot be reached, dropped us, or did not answer in time.

    ``sent_ids`` are the segments it had accepted before it failed.
    """

    def __init__(
        self, message: str, *, gateway: str, sent_ids: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.gateway = gateway
        self.sent_ids = sent_ids


class SmsGatewayAccessDenied(SmsGatewayUnavailable):
    """The gateway refused our credentials (an SMPP system_id or password)."""


class SmsRefused(MessagingError):
    """The gateway refused a segment (an SMPP ``submit_sm`` error status).

    ``status`` is the gateway's code (the SMPP command_status); ``sent_ids``
    are the segments accepted before the refusal.
    """

    def __init__(
        self,
        message: str,
        *,
        gateway: str,
        status: int,
        sent_ids: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.gateway = gateway
        self.status = status
        self.sent_ids = sent_ids


class SmsThrottled(SmsRefused):
    """The gateway is rate limiting us (ESME_RTHROTTLED, ESME_RMSGQFUL)."""


class SmsRejected(SmsRefused):
    """The gateway rejected the message itself (ESME_RSUBMITFAIL and others)."""
