"""Where a parcel's record is published: a salted hash of its package code.

The public site must let anyone with a code find that one parcel, and let
nobody list the parcels. Each record is therefore stored under
``SHA-256(salt ":" compact code)`` in hex, and records are grouped into 256
files by the first two hex digits of that key (``p/3f.json``). The host's
file list and its access logs show only which of the 256 groups was read,
never a code or a full key. The browser computes the same key with its own
SHA-256 (``assets/site.js``), so nothing but the group file leaves the page.

The salt is per site and published with it (the browser needs it); it is
not a secret. It makes a table of keys computed for one site useless for
another, and it changes every key when an operator replaces it. Guessing a
code stays as hard as the code's 55 random bits (controlroom.orders.codes).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import string
from pathlib import Path

from controlroom.config import Settings, ensure_private_folder
from controlroom.errors import ConfigurationError
from controlroom.orders.codes import normalise_code

logger = logging.getLogger(__name__)

SALT_FILE = "status-site.salt"
PREFIX_DIGITS = 2
MIN_SALT_CHARS = 16
# Printable ASCII without quotes or spaces: the salt is written into an HTML
# attribute and hashed as bytes by the browser, so it must read the same in
# both places without any escaping.
SALT_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_.:+/=")


def record_key(code: str, salt: str) -> str:
    """Return the hex key a parcel's record is published under."""
    compact = normalise_code(code)
    return hashlib.sha256(f"{salt}:{compact}".encode("ascii")).hexdigest()


def prefix_of(key: str) -> str:
    """Return the group (file name stem) a record key falls in."""
    return key[:PREFIX_DIGITS]


def all_prefixes() -> list[str]:
    """Return every group stem, ``00`` to ``ff``, in order."""
    return [f"{n:0{PREFIX_DIGITS}x}" for n in range(16**PREFIX_DIGITS)]


def check_salt(salt: str) -> str:
    """Return ``salt`` if a site may use it, else raise saying what to change."""
    if len(salt) < MIN_SALT_CHARS or not set(salt) <= SALT_CHARACTERS:
        raise ConfigurationError(
            f"CONTROLROOM_STATUS_SITE_SALT must be at least {MIN_SALT_CHARS} "
            "letters, digits or -_.:+/= (no spaces or quotes), for example the "
            "output of 'python -c \"import secrets; print(secrets.token_hex(16))\"'.",
            setting="status_site_salt",
        )
    return salt


def site_salt(settings: Settings) -> str:
    """Return the site's salt: the setting, or one kept in the data folder."""
    if settings.status_site_salt is not None:
        return check_salt(settings.status_site_salt)
    return _salt_from_file(settings.data_dir / SALT_FILE)


def _salt_from_file(path: Path) -> str:
    try:
        return check_salt(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except (UnicodeDecodeError, ConfigurationError) as exc:
        raise ConfigurationError(
            f"The status-site salt file {path} is damaged. Delete it to draw a "
            "new salt (every published key then changes), or restore it.",
            setting="status_site_salt",
        ) from exc

    ensure_private_folder(path.parent)
    try:
        # O_EXCL: two builds starting at once still share one salt.
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return check_salt(path.read_text(encoding="ascii").strip())
    salt = secrets.token_hex(16)
    with os.fdopen(handle, "w", encoding="ascii") as file:
        file.write(salt + "\n")
    logger.info("drew a new status-site salt path=%s", path)
    return salt
