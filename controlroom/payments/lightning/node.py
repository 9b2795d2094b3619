"""The Lightning node the control room asks for invoices: interface and data.

The control room holds no Lightning key; the node does. It asks the node for
invoices and reads their state through :class:`LightningNode`; the adapter for
LND's REST API is :mod:`controlroom.payments.lightning.lnd_rest`, and the lab
node that speaks the same API is :mod:`controlroom.payments.lab.lightning_server`.
:func:`transport_security` holds the rules for reaching a node without
exposing its macaroon.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from controlroom.errors import ConfigurationError
from controlroom.payments import bolt11
from controlroom.payments.addresses import Network

_LOOPBACK_NAMES = frozenset({"localhost"})


class LightningInvoiceState(StrEnum):
    """An invoice's state on the node (lnrpc ``Invoice.InvoiceState``)."""

    OPEN = "OPEN"
    SETTLED = "SETTLED"
    CANCELED = "CANCELED"
    ACCEPTED = "ACCEPTED"  # a hold invoice's HTLC is locked in, not yet paid


@dataclass(frozen=True)
class LightningNodeConfig:
    """One configured Lightning node; the macaroon never appears in its repr."""

    key: str
    url: str
    macaroon_hex: str = field(repr=False)
    network: Network = Network.MAINNET
    tls_cert_path: Path | None = None
    node_id: str | None = None  # the identity key we expect to sign invoices
    region: str = ""
    provider: str = ""
    timeout_seconds: float = 5.0


def read_macaroon(path: Path) -> str:
    """Read a macaroon file (binary, as LND writes it) and return it in hex."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot read the macaroon file {path} ({exc.strerror}). Copy the "
            "node's invoice.macaroon there and make it readable to the control room.",
            setting="macaroon",
        ) from exc
    if not raw:
        raise ConfigurationError(
            f"The macaroon file {path} is empty; copy invoice.macaroon again.",
            setting="macaroon",
        )
    return raw.hex()


@dataclass(frozen=True)
class LightningNodeInfo:
    """Who the node is and how far it has synced (``GetInfo``)."""

    node_id: str
    alias: str
    block_height: int
    synced_to_chain: bool
    network: Network


@dataclass(frozen=True)
class NodeInvoice:
    """An invoice the node created, already decoded and checked."""

    payment_hash: str
    payment_request: str
    add_index: int
    decoded: bolt11.Invoice


@dataclass(frozen=True)
class NodeInvoiceStatus:
    """What the node says about one invoice now; amounts in millisatoshis."""

    payment_hash: str
    state: LightningInvoiceState
    value_msat: int
    amount_paid_msat: int
    created_at: datetime
    expiry_seconds: int
    settled_at: datetime | None


class LightningNode(Protocol):
    """What the control room needs of a Lightning node."""

    @property
    def config(self) -> LightningNodeConfig:
        """The node's configuration."""
        ...

    def info(self) -> LightningNodeInfo:
        """Return the node's identity, chain and sync state."""
        ...

    def create_invoice(
        self, *, amount_sat: int, memo: str, expiry_seconds: int
    ) -> NodeInvoice:
        """Ask the node for an invoice and return it once it passes our checks."""
        ...

    def lookup_invoice(self, payment_hash: str) -> NodeInvoiceStatus:
        """Return the node's current view of the invoice ``payment_hash``."""
        ...

    def close(self) -> None:
        """Drop the connection; the next call opens a new one."""
        ...


def transport_security(config: LightningNodeConfig) -> ssl.SSLContext | bool:
    """Check the node's URL, certificate and macaroon; return httpx's ``verify``.

    Plain http is accepted on the loopback interface only, since the
    macaroon would otherwise cross the network in clear; https trusts the
    node's own ``tls.cert`` and nothing else.
    """
    _check_macaroon(config)
    parts = urlsplit(config.url)
    setting = f"lightning node {config.key} url"
    if parts.scheme == "http":
        if not _is_loopback(parts.hostname or ""):
            raise ConfigurationError(
                f"The Lightning node {config.key!r} is reached over plain http at "
                f"{parts.hostname}; the macaroon would cross the network in clear. "
                "Use https with the node's tls.cert.",
                setting=setting,
            )
        return True
    if parts.scheme != "https":
        raise ConfigurationError(
            f"The Lightning node {config.key!r} URL {config.url!r} is not http(s); "
            "give LND's REST address, e.g. https://lnd.example:8080.",
            setting=setting,
        )
    if config.tls_cert_path is None:
        raise ConfigurationError(
            f"The Lightning node {config.key!r} uses https: give its tls.cert "
            "(--cert on the command line) so only that certificate is trusted.",
            setting=f"lightning node {config.key} tls_cert_path",
        )
    if not config.tls_cert_path.is_file():
        raise ConfigurationError(
            f"The Lightning node {config.key!r} uses https but its tls.cert is not "
            f"at {config.tls_cert_path}; copy the node's tls.cert there so only "
            "that certificate is trusted.",
            setting=f"lightning node {config.key} tls_cert_path",
        )
    try:
        return ssl.create_default_context(cafile=str(config.tls_cert_path))
    except ssl.SSLError as exc:
        raise ConfigurationError(
            f"{config.tls_cert_path} is not a PEM certificate ({exc.reason}); copy "
            "the node's tls.cert again.",
            setting=f"lightning node {config.key} tls_cert_path",
        ) from exc


def _check_macaroon(config: LightningNodeConfig) -> None:
    try:
        usable = bool(config.macaroon_hex) and bool(bytes.fromhex(config.macaroon_hex))
    except ValueError:
        usable = False
    if not usable:
        # Never repeat the value: a mistyped macaroon is still mostly secret.
        raise ConfigurationError(
            f"The macaroon for Lightning node {config.key!r} is not hex. Give the "
            "macaroon file (read_macaroon) rather than pasting it.",
            setting=f"lightning node {config.key} macaroon",
        )


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
