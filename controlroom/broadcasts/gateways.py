"""The SMS gateway the settings name: SMPP, the HTTP API, or none.

The password (SMPP) or auth token (HTTP) comes from ``CONTROLROOM_SMS_SECRET``
or from the one-line file ``CONTROLROOM_SMS_SECRET_FILE``, which only its
owner may read. It is handed to the adapter and never put in a message,
a log line or the journal.
"""

from __future__ import annotations

import stat
from contextlib import AbstractContextManager
from pathlib import Path

from controlroom.config import Settings
from controlroom.errors import ConfigurationError
from controlroom.messaging.gateway import SmsGateway
from controlroom.messaging.http_sms import HttpSmsGateway
from controlroom.messaging.smpp_gateway import SmppGateway


def open_gateway(settings: Settings) -> AbstractContextManager[SmsGateway]:
    """Return the configured gateway, to use in a ``with`` block.

    Nothing connects until the block is entered.

    Raises
    ------
    ConfigurationError
        No gateway is chosen, or one is missing its account, URL or secret.
    """
    if settings.sms_gateway == "none":
        raise ConfigurationError(
            "No SMS gateway is configured: set CONTROLROOM_SMS_GATEWAY to "
            "'smpp' or 'http', with its account and secret.",
            setting="sms_gateway",
        )
    if not settings.sms_account:
        raise ConfigurationError(
            "Set CONTROLROOM_SMS_ACCOUNT: the SMPP system_id or the SMS API "
            "account id.",
            setting="sms_account",
        )
    secret = read_secret(settings)

    if settings.sms_gateway == "smpp":
        return SmppGateway(
            settings.sms_host,
            settings.sms_port,
            system_id=settings.sms_account,
            password=secret,
        )
    if not settings.sms_url:
        raise ConfigurationError(
            "Set CONTROLROOM_SMS_URL to the SMS API's base URL.",
            setting="sms_url",
        )
    return HttpSmsGateway(
        settings.sms_url, account_id=settings.sms_account, auth_token=secret
    )


def read_secret(settings: Settings) -> str:
    """Return the gateway's password or token from the environment or its file."""
    if settings.sms_secret is not None:
        return settings.sms_secret.get_secret_value()
    path = settings.sms_secret_file
    if path is None:
        raise ConfigurationError(
            "The SMS gateway needs its password or token: set "
            "CONTROLROOM_SMS_SECRET, or CONTROLROOM_SMS_SECRET_FILE to a file "
            "only you can read.",
            setting="sms_secret",
        )
    return _read_secret_file(path)


def _read_secret_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(
            f"Cannot read the SMS secret file {path}: {error.strerror}.",
            setting="sms_secret_file",
        ) from None
    except UnicodeDecodeError:
        # Never quote the bytes: they are the secret.
        raise ConfigurationError(
            f"The SMS secret file {path} is not UTF-8 text; write the password "
            "or token on one line as plain text.",
            setting="sms_secret_file",
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{path} can be read by other users; run 'chmod 600 {path}' first.",
            setting="sms_secret_file",
        )
    secret = text.strip()
    if not secret or "\n" in secret:
        # Never echo the content: it is a password.
        raise ConfigurationError(
            f"{path} must hold the secret alone, on one line.",
            setting="sms_secret_file",
        )
    return secret
