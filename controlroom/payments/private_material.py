"""Private key material: recognised so it can be refused, never kept or repeated.

The control room is watch-only. Extended private keys (the xprv family, and
any BIP32 key whose payload holds a secret whatever its prefix says), WIF
keys (also with a typo), BIP39 seed phrases (also numbered, with capitals or
a mistyped word) and descriptors holding any of these are refused before
anything else reads them; the message names the kind of secret, never the
secret, and the refusal is logged by kind only.
"""

from __future__ import annotations

import logging
import re

from embit import base58
from embit.wordlists.bip39 import WORDLIST

from controlroom.errors import PaymentError

logger = logging.getLogger(__name__)

_BASE58_RUN = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")
_SEED_WORDS = frozenset(WORDLIST)
_PRIVATE_PREFIXES = frozenset("xtyzuvYZUV")
_WIF_VERSIONS = (0x80, 0xEF)
_PRIVATE_KINDS = {
    "seed_words": "a seed phrase (BIP39 words)",
    "xprv": "an extended private key (xprv family)",
    "wif": "a private key (WIF)",
}


def refuse_private_material(text: str) -> None:
    """Refuse text holding a private key or seed words, never repeating it."""
    found = _private_material_in(text)
    if found is None:
        return
    logger.warning("refused private key material kind=%s", found)
    raise PaymentError(
        f"This is {_PRIVATE_KINDS[found]}. The control room is watch-only and "
        "never takes private keys or seed words; nothing was stored. Export the "
        "wallet's account public key (xpub, zpub or a descriptor) instead, and "
        "treat the secret as exposed if it was shared."
    )


def _private_material_in(text: str) -> str | None:
    if _looks_like_seed_words(text):
        return "seed_words"
    for run in _BASE58_RUN.findall(text):
        if _is_extended_private_key(run):
            return "xprv"
        if _is_wif(run):
            return "wif"
    return None


def _looks_like_seed_words(text: str) -> bool:
    # Numbered lists ("1. abandon") and commas are how people write phrases
    # down; a phrase with a typo or two is still a secret.
    words = [w.strip(".,;:()").lower() for w in text.split()]
    words = [w for w in words if w and not w.isdigit()]
    if len(words) < 12:
        return False
    known = sum(word in _SEED_WORDS for word in words)
    return known >= 0.8 * len(words)


def _is_extended_private_key(run: str) -> bool:
    if len(run) >= 100 and run[0] in _PRIVATE_PREFIXES and run[1:4] == "prv":
        return True
    if not 100 <= len(run) <= 115:
        return False
    payload = decode_check(run)
    # A 78-byte BIP32 key with 0x00 before its 32 key bytes holds a secret,
    # whatever its version bytes claim (BIP32 test vector 5).
    return payload is not None and len(payload) == 78 and payload[45] == 0


def _is_wif(run: str) -> bool:
    if len(run) not in (51, 52):
        return False
    payload = decode_check(run)
    if payload is None:
        # A mistyped WIF is still most of a secret: judge it by its shape.
        return (len(run) == 51 and run[0] in "59") or (
            len(run) == 52 and run[0] in "KLc"
        )
    return payload[0] in _WIF_VERSIONS and len(payload) in (33, 34)


def decode_check(run: str) -> bytes | None:
    try:
        return bytes(base58.decode_check(run))
    except (ValueError, IndexError):
        return None
