"""Stable pseudonyms for parcels, keyed so they cannot be traced back.

A package code is the key to a parcel's status on the public status site, so
analysts never see it, nor the parcel's row number. They see an HMAC-SHA256
(RFC 2104) of the parcel's journal subject under a secret key: the same
parcel always gets the same pseudonym, which lets analysts join frames and
days, but without the key nobody can go from a pseudonym to a parcel, and
the key never appears in anything the analytics API returns.

The key is the ``CONTROLROOM_ANALYTICS_KEY`` setting when set (give every
analyst machine the same one to share pseudonyms between them); otherwise a
random key is drawn once and kept, readable by its owner only, in the data
folder.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from controlroom.config import Settings, ensure_private_folder
from controlroom.errors import ConfigurationError

logger = logging.getLogger(__name__)

KEY_FILE = "analytics-pseudonym.key"
PSEUDONYM_PREFIX = "pcl-"
# 64 bits: a clash among a million parcels has odds of about 1 in 36 million.
PSEUDONYM_HEX_DIGITS = 16
_MIN_KEY_BYTES = 16


def pseudonym_key(settings: Settings) -> bytes:
    """Return the secret key of parcel pseudonyms: the setting or the key file."""
    if settings.analytics_key is not None:
        key = settings.analytics_key.get_secret_value().encode("utf-8")
        if len(key) < _MIN_KEY_BYTES:
            raise ConfigurationError(
                "CONTROLROOM_ANALYTICS_KEY is too short to keep pseudonyms "
                f"secret: use at least {_MIN_KEY_BYTES} characters, for example "
                "the output of 'python -c \"import secrets; "
                "print(secrets.token_hex(32))\"'.",
                setting="analytics_key",
            )
        return key
    return _key_from_file(settings.data_dir / KEY_FILE)


def _key_from_file(path: Path) -> bytes:
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except ValueError as exc:
        raise ConfigurationError(
            f"The pseudonym key file {path} is damaged. Restore it from a backup "
            "to keep earlier pseudonyms, or delete it to start new ones.",
            setting="analytics_key",
        ) from exc

    ensure_private_folder(path.parent)
    try:
        # O_EXCL: if two processes start at once, only one key is ever kept.
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    key = secrets.token_bytes(32)
    with os.fdopen(handle, "w", encoding="ascii") as file:
        file.write(key.hex() + "\n")
    logger.info("drew a new pseudonym key path=%s", path)
    return key


def pseudonymise(key: bytes, subject: str) -> str:
    """Return the stable pseudonym of a journal subject such as ``parcel:42``."""
    digest = hmac.new(key, subject.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_DIGITS]
