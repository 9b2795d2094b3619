"""Receive addresses of the demo's watch-only wallet (BIP84, from a zpub).

BIP84 puts native SegWit (P2WPKH) receive addresses at ``m/84'/0'/0'/0/i``;
given the account's public key (``m/84'/0'/0'``), the last two, unhardened,
steps ``0/i`` derive with public keys only (BIP32 "public parent key to public
child key"). A private key is refused: the control room never holds one.
"""

from __future__ import annotations

from embit import bip32
from embit.networks import NETWORKS
from embit.script import p2wpkh

from controlroom.errors import DemoWorldError

RECEIVE_CHAIN = 0


def receive_address(account_key: str, index: int) -> str:
    """Return receive address ``index`` of a BIP84 account public key."""
    if index < 0 or index >= 2**31:
        raise DemoWorldError(f"Address index {index} is outside 0..2^31-1.")
    try:
        key = bip32.HDKey.from_string(account_key)
    except ValueError as exc:
        raise DemoWorldError(
            "The watch-only account key is not a valid extended public key."
        ) from exc
    if key.is_private:
        raise DemoWorldError(
            "The watch-only account key is a private key; give the control room "
            "only the account's zpub/xpub."
        )
    child = key.derive([RECEIVE_CHAIN, index])
    return str(p2wpkh(child.key).address(NETWORKS["main"]))
