"""Payment addresses for spooled orders, from a watch-only key alone.

While the primary is down its fallback wallets' issued addresses cannot be
read, so the spool hands out addresses itself: receive address ``i`` of a
watch-only account key (:mod:`controlroom.payments.watch_keys`, which refuses
any private key), one per order, ``i`` counted in the spool. Give the spool
an account of its own (e.g. ``m/84'/0'/2'``), not the one the primary's
fallback wallet issues from, so the two never hand out the same address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from controlroom.errors import ConfigurationError, PaymentError
from controlroom.fallback_orders.chain import SpoolRecord
from controlroom.payments.addresses import Network
from controlroom.payments.watch_keys import WatchKey, receive_address, watch_only_key


@dataclass(frozen=True)
class SpoolWallet:
    """A watch-only account the spool derives order addresses from."""

    key: WatchKey
    first_address: str
    first_index: int

    @property
    def network(self) -> Network:
        """The network the addresses are for."""
        return self.key.network

    def address(self, index: int) -> str:
        """Return receive address ``index``."""
        return receive_address(self.key, index).text

    def next_index(self, records: Iterable[SpoolRecord]) -> int:
        """Return the first index no spooled order of this wallet was given."""
        used = [
            int(pay_to["index"])
            for record in records
            if isinstance(pay_to := record.order.get("pay_to"), dict)
            and pay_to.get("wallet") == self.first_address
            and pay_to.get("index") is not None
        ]
        return max(used) + 1 if used else self.first_index


def spool_wallet(text: str, *, network: Network, first_index: int = 0) -> SpoolWallet:
    """Return the spool's wallet for an account key or descriptor ``text``.

    Raises
    ------
    ConfigurationError
        The key is private material, malformed, or for another network.
    """
    try:
        key = watch_only_key(text, network=network)
        first = receive_address(key, 0).text
        receive_address(key, first_index)
    except PaymentError as exc:
        raise ConfigurationError(
            f"The fallback spool's wallet key cannot be used: {exc}",
            setting="fallback_wallet_key",
        ) from None
    return SpoolWallet(key=key, first_address=first, first_index=first_index)
