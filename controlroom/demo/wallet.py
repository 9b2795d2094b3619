"""Receive addresses of the demo's watch-only wallet (BIP84, from a vpub).

The demo pays on a lab regtest chain, so its wallet is a testnet-family
account (coin type 1) spelled as regtest ``bcrt1`` addresses. BIP84 puts
native SegWit (P2WPKH) receive addresses at ``m/84'/1'/0'/0/i``; given the
account's public key (``m/84'/1'/0'``), the last two, unhardened,
steps ``0/i`` derive with public keys only. The derivation, and the refusal
of any private key, live in :mod:`controlroom.payments.watch_keys`.
"""

from __future__ import annotations

from functools import lru_cache

from controlroom.errors import DemoWorldError, PaymentError
from controlroom.payments import watch_keys
from controlroom.payments.addresses import Network


def receive_address(account_key: str, index: int) -> str:
    """Return receive address ``index`` of a BIP84 account public key."""
    try:
        key = _account(account_key)
        return watch_keys.receive_address(key, index).text
    except PaymentError as exc:
        raise DemoWorldError(f"The demo wallet cannot derive: {exc}") from None


@lru_cache(maxsize=8)
def _account(account_key: str) -> watch_keys.WatchKey:
    # Parsing derives both chain keys; a played day asks for hundreds of
    # addresses of the same account. Only public keys reach the cache: a
    # refused key raises, and lru_cache keeps no failed calls.
    return watch_keys.watch_only_key(account_key, network=Network.REGTEST)
