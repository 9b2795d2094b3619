"""The lab Lightning node's state: its key, its invoices, the payer's controls.

It issues real BOLT 11 invoices, signed with a node key generated for this
run that never leaves the lab (the control room holds no Lightning key; in
production the node does). A test or drill plays the payer and the network
through :class:`LabLightningNode`: settle an invoice, cancel it, let its
expiry pass on the lab clock, or lose it. :mod:`.lightning_server` puts it
behind LND's REST API.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from embit import bech32
from embit.util import secp256k1

from controlroom.payments.addresses import Network
from controlroom.payments.lightning.node import LightningInvoiceState

# LND's default: 80 blocks of final CLTV.
MIN_FINAL_CLTV_EXPIRY = 80
# var_onion_optin and payment_secret required, basic_mpp optional (BOLT #9).
_FEATURE_BITS = (8, 14, 17)
_HRP_PREFIX = {
    Network.MAINNET: "lnbc",
    Network.TESTNET: "lntb",
    Network.SIGNET: "lntbs",
    Network.REGTEST: "lnbcrt",
}
# BOLT 11 amount multipliers as pico-bitcoin per unit, largest unit first.
_PICO_PER_UNIT = (("", 10**12), ("m", 10**9), ("u", 10**6), ("n", 10**3), ("p", 1))


class LightningLie(StrEnum):
    """The wrong answers a lying lab node gives."""

    AMOUNT = "amount"  # signs an invoice for 1,000 sat more than asked
    PAYMENT_HASH = "payment_hash"  # signs another hash than the r_hash it reports
    NETWORK = "network"  # signs a mainnet invoice whatever its network
    PAYEE = "payee"  # signs with another key than its identity
    SETTLED_SHORT = "settled_short"  # calls an invoice settled with half paid
    OTHER_INVOICE = "other_invoice"  # answers a lookup about another invoice


@dataclass
class LabInvoice:
    """One invoice as the lab node keeps it."""

    preimage: bytes
    payment_hash: bytes
    payment_secret: bytes
    value_msat: int
    memo: str
    created_at: datetime
    expiry_seconds: int
    payment_request: str
    add_index: int
    state: LightningInvoiceState = LightningInvoiceState.OPEN
    amount_paid_msat: int = 0
    settled_at: datetime | None = None
    settle_index: int = 0


def real_now() -> datetime:
    """The lab clock when none is given: real UTC time."""
    return datetime.now(UTC)


@dataclass
class LabLightningNode:
    """The lab node's invoices and key; the payer's and network's controls."""

    network: Network = Network.REGTEST
    clock: Callable[[], datetime] = real_now
    alias: str = "lab-lnd"
    block_height: int = 200
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _invoices: dict[str, LabInvoice] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def node_id(self) -> str:
        """The node's identity public key, compressed, in hex."""
        public = secp256k1.ec_pubkey_create(self._key)
        return bytes(secp256k1.ec_pubkey_serialize(public)).hex()

    def add_invoice(
        self,
        *,
        value_msat: int,
        memo: str,
        expiry_seconds: int,
        lie: LightningLie | None,
    ) -> LabInvoice:
        """Create and sign an invoice (``AddInvoice``), lying if told to."""
        preimage = secrets.token_bytes(32)
        payment_hash = hashlib.sha256(preimage).digest()
        secret = secrets.token_bytes(32)
        created_at = self.clock().replace(microsecond=0)
        signed_hash = (
            secrets.token_bytes(32)
            if lie is LightningLie.PAYMENT_HASH
            else payment_hash
        )
        request = encode_invoice(
            network=Network.MAINNET if lie is LightningLie.NETWORK else self.network,
            amount_msat=value_msat + (1_000_000 if lie is LightningLie.AMOUNT else 0),
            created_at=created_at,
            payment_hash=signed_hash,
            payment_secret=secret,
            description=memo,
            expiry_seconds=expiry_seconds,
            key=secrets.token_bytes(32) if lie is LightningLie.PAYEE else self._key,
        )
        with self._lock:
            invoice = LabInvoice(
                preimage=preimage,
                payment_hash=payment_hash,
                payment_secret=secret,
                value_msat=value_msat,
                memo=memo,
                created_at=created_at,
                expiry_seconds=expiry_seconds,
                payment_request=request,
                add_index=len(self._invoices) + 1,
            )
            self._invoices[payment_hash.hex()] = invoice
        return invoice

    def invoice(self, payment_hash: str) -> LabInvoice | None:
        """The invoice as the node shows it now (expired ones are canceled)."""
        with self._lock:
            invoice = self._invoices.get(payment_hash)
            if invoice is None:
                return None
            # LND's invoice registry cancels an open invoice once it expires.
            expires_at = invoice.created_at + timedelta(seconds=invoice.expiry_seconds)
            if (
                invoice.state is LightningInvoiceState.OPEN
                and self.clock() >= expires_at
            ):
                invoice.state = LightningInvoiceState.CANCELED
            return invoice

    def settle(
        self,
        payment_hash: str,
        *,
        amount_msat: int | None = None,
        at: datetime | None = None,
    ) -> None:
        """Play a payer: the invoice is paid in full (or ``amount_msat``) and settled.

        The lab settles whatever it is told to, even past expiry, so a drill
        can show a payment the node took late.
        """
        with self._lock:
            invoice = self._invoices[payment_hash]
            invoice.state = LightningInvoiceState.SETTLED
            invoice.amount_paid_msat = amount_msat or invoice.value_msat
            invoice.settled_at = (at or self.clock()).replace(microsecond=0)
            invoice.settle_index = 1 + sum(
                1 for i in self._invoices.values() if i.settle_index
            )

    def payment_hashes(self) -> list[str]:
        """The payment hashes of every invoice the node holds, oldest first."""
        with self._lock:
            return list(self._invoices)

    def cancel(self, payment_hash: str) -> None:
        """Cancel an open invoice, as ``CancelInvoice`` does."""
        with self._lock:
            self._invoices[payment_hash].state = LightningInvoiceState.CANCELED

    def forget(self, payment_hash: str) -> None:
        """Lose an invoice, as a node restored from an old backup would."""
        with self._lock:
            del self._invoices[payment_hash]


def encode_invoice(
    *,
    network: Network,
    amount_msat: int,
    created_at: datetime,
    payment_hash: bytes,
    payment_secret: bytes,
    description: str,
    expiry_seconds: int,
    key: bytes,
) -> str:
    """Write and sign a BOLT 11 invoice with ``key`` (lab use only).

    Parameters
    ----------
    network
        Picks the human-readable prefix (``lnbc``, ``lntb``, ``lntbs``, ``lnbcrt``).
    amount_msat
        The amount, written with the largest multiplier that keeps it whole.
    key
        The node's 32-byte secret key; the signature is recoverable, so the
        invoice names no payee (``n``) and the reader recovers it.
    """
    hrp = _HRP_PREFIX[network] + _amount_text(amount_msat)
    body = _int_words(int(created_at.timestamp()), 7)
    body += _field("p", _words(payment_hash))
    body += _field("s", _words(payment_secret))
    body += _field("d", _words(description.encode("utf-8")))
    body += _field("x", _int_words(expiry_seconds))
    body += _field("c", _int_words(MIN_FINAL_CLTV_EXPIRY))
    body += _field("9", _int_words(sum(1 << bit for bit in _FEATURE_BITS)))

    # BOLT 11: the signature covers the prefix's bytes and the data padded
    # with zero bits to a whole byte.
    padded = bytes(bech32.convertbits(body, 5, 8, True) or [])
    message = hashlib.sha256(hrp.encode("ascii") + padded).digest()
    signature = secp256k1.ecdsa_sign_recoverable(message, key)
    compact, recovery_id = secp256k1.ecdsa_recoverable_signature_serialize_compact(
        signature
    )
    words = body + _words(bytes(compact) + bytes([recovery_id]))
    return str(bech32.bech32_encode(bech32.Encoding.BECH32, hrp, words))


def _amount_text(amount_msat: int) -> str:
    pico = amount_msat * 10
    for letter, per_unit in _PICO_PER_UNIT:
        if pico % per_unit == 0:
            return f"{pico // per_unit}{letter}"
    raise AssertionError("every msat amount is a whole number of pico-bitcoin")


def _words(data: bytes) -> list[int]:
    return list(bech32.convertbits(list(data), 8, 5, True) or [])


def _int_words(value: int, count: int | None = None) -> list[int]:
    count = count or max(1, -(-value.bit_length() // 5))
    return [(value >> (5 * (count - 1 - i))) & 31 for i in range(count)]


def _field(tag: str, words: list[int]) -> list[int]:
    return [bech32.CHARSET.index(tag), len(words) // 32, len(words) % 32, *words]
