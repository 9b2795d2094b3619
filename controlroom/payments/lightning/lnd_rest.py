"""LND's REST API: ask the node for invoices and read their state.

The endpoints are those of LND's REST gateway to ``lightning.proto`` and
``invoicesrpc``: ``GET /v1/getinfo``, ``POST /v1/invoices`` (AddInvoice) and
``GET /v2/invoices/lookup`` (LookupInvoiceV2, LND 0.16 and later), falling
back to ``GET /v1/invoice/{r_hash_str}`` on older nodes. Integers of 64 bits
arrive as JSON strings and bytes as base64, as the gateway writes them.

Every request carries the macaroon, hex-encoded, in ``Grpc-Metadata-macaroon``.
The macaroon is a bearer credential, so it is never logged, never put in a
message and never sent in clear text to another host: plain ``http`` is only
accepted on the loopback interface, and ``https`` needs the node's own
``tls.cert`` pinned as the only certificate trusted.

The node is not trusted for its invoices: each ``payment_request`` it returns
is decoded with :mod:`controlroom.payments.bolt11` and compared with what was
asked (amount, payment hash, payment secret, expiry, network, payee), and an
invoice that differs is refused with :class:`~controlroom.errors.NodeMisbehaving`.
"""

from __future__ import annotations

import base64
import logging
import ssl
from typing import Any

import httpx

from controlroom.errors import (
    InvoiceUnknownToNode,
    NodeAccessDenied,
    NodeMisbehaving,
    NodeUnavailable,
    PaymentError,
)
from controlroom.payments import bolt11
from controlroom.payments.lightning.lnd_answers import (
    NETWORK_NAMES,
    bytes_field,
    integer_field,
    invoice_differences,
    invoice_status,
    json_object,
    text_field,
)
from controlroom.payments.lightning.node import (
    LightningNodeConfig,
    LightningNodeInfo,
    NodeInvoice,
    NodeInvoiceStatus,
    transport_security,
)

logger = logging.getLogger(__name__)

MACAROON_HEADER = "Grpc-Metadata-macaroon"
# What LND says when it has no such invoice (invoices.ErrInvoiceNotFound and
# ErrNoInvoicesCreated); any other 404 means the route itself is missing.
_UNKNOWN_INVOICE_MESSAGES = ("unable to locate invoice", "no existing invoices")
# LND answers a bad macaroon with gRPC code Unknown (HTTP 500), not 401.
_ACCESS_MESSAGES = ("macaroon", "verification failed", "permission denied")


class LndRestNode:
    """LND's REST API spoken with httpx.

    Parameters
    ----------
    config
        Where the node is, its macaroon, network and pinned certificate.
    transport
        An httpx transport to use instead of the network (tests only).

    Raises
    ------
    ConfigurationError
        On construction, for a URL that would expose the macaroon or a
        missing certificate file.
    """

    def __init__(
        self,
        config: LightningNodeConfig,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._config = config
        self._verify = transport_security(config)
        self._transport = transport
        self._client: httpx.Client | None = None
        self._identity: str | None = config.node_id
        self._lookup_v1 = False

    @property
    def config(self) -> LightningNodeConfig:
        """The node's configuration."""
        return self._config

    def info(self) -> LightningNodeInfo:
        """Return the node's identity, chain and sync state (``GetInfo``).

        Raises
        ------
        NodeMisbehaving
            The node is on another network than configured.
        """
        payload = self._request("GET", "/v1/getinfo")
        chains = payload.get("chains")
        first = chains[0] if isinstance(chains, list) and chains else {}
        name = str(first.get("network", "")) if isinstance(first, dict) else ""
        network = NETWORK_NAMES.get(name)
        if network is not self._config.network:
            raise NodeMisbehaving(
                f"The Lightning node {self._config.key!r} runs on "
                f"{name or 'an unnamed network'}, not {self._config.network.value}; "
                "its invoices cannot be paid by our customers. Point the setting "
                "at the right node.",
                node=self._config.key,
            )
        info = LightningNodeInfo(
            node_id=text_field(payload, "identity_pubkey", self._config.key),
            alias=str(payload.get("alias", "")),
            block_height=integer_field(payload, "block_height", self._config.key),
            synced_to_chain=bool(payload.get("synced_to_chain", False)),
            network=network,
        )
        self._identity = self._identity or info.node_id
        return info

    def create_invoice(
        self, *, amount_sat: int, memo: str, expiry_seconds: int
    ) -> NodeInvoice:
        """Ask the node for an invoice (``AddInvoice``) and check what it signed.

        Raises
        ------
        NodeMisbehaving
            The payment request does not decode on our network, or its amount,
            payment hash, secret, description, expiry or payee differ from
            what was asked.
        """
        if self._identity is None:
            self.info()
        body = {"value": str(amount_sat), "memo": memo, "expiry": str(expiry_seconds)}
        payload = self._request("POST", "/v1/invoices", json=body)

        key = self._config.key
        payment_hash = bytes_field(payload, "r_hash", key).hex()
        request = text_field(payload, "payment_request", key)
        decoded = self._decode(request)
        secret = payload.get("payment_addr")
        differences = invoice_differences(
            decoded,
            amount_msat=amount_sat * 1000,
            payment_hash=payment_hash,
            payment_secret=bytes_field(payload, "payment_addr", key).hex()
            if secret
            else None,
            memo=memo,
            expiry_seconds=expiry_seconds,
            payee=self._identity,
        )
        if differences:
            raise NodeMisbehaving(
                f"The Lightning node {key!r} returned an invoice that differs from "
                f"what we asked: {'; '.join(differences)}. It was not stored or "
                "shown; check the node before taking Lightning payments again.",
                node=key,
            )
        logger.info(
            "lightning invoice created node=%s payment_hash=%s amount_sat=%s",
            key,
            payment_hash,
            amount_sat,
        )
        return NodeInvoice(
            payment_hash=payment_hash,
            payment_request=decoded.text,
            add_index=integer_field(payload, "add_index", key),
            decoded=decoded,
        )

    def lookup_invoice(self, payment_hash: str) -> NodeInvoiceStatus:
        """Return the node's view of the invoice ``payment_hash`` (hex).

        Raises
        ------
        InvoiceUnknownToNode
            The node has no invoice with this payment hash.
        NodeMisbehaving
            The answer is about another invoice or contradicts itself.
        """
        try:
            raw_hash = bytes.fromhex(payment_hash)
        except ValueError:
            raw_hash = b""
        if len(raw_hash) != 32:
            raise PaymentError(
                f"{payment_hash!r} is not a payment hash (64 hexadecimal digits)."
            )
        payload = self._lookup(payment_hash, raw_hash)

        key = self._config.key
        if bytes_field(payload, "r_hash", key) != raw_hash:
            raise NodeMisbehaving(
                f"Asked about invoice {payment_hash}, the Lightning node {key!r} "
                "answered about another one. Check the node.",
                node=key,
            )
        request = payload.get("payment_request")
        if request:
            decoded = self._decode(str(request))
            if decoded.payment_hash != payment_hash:
                raise NodeMisbehaving(
                    f"The Lightning node {key!r} answered about {payment_hash} "
                    "with a payment request for another payment hash.",
                    node=key,
                )
        return invoice_status(payload, payment_hash, key)

    def close(self) -> None:
        """Drop the connection; the next call opens a new one."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _lookup(self, payment_hash: str, raw_hash: bytes) -> dict[str, Any]:
        if not self._lookup_v1:
            encoded = base64.urlsafe_b64encode(raw_hash).decode("ascii")
            try:
                return self._request(
                    "GET",
                    "/v2/invoices/lookup",
                    params={"payment_hash": encoded},
                    about=payment_hash,
                )
            except _RouteMissing:
                # LND before 0.16 has no LookupInvoiceV2; remember and use v1.
                self._lookup_v1 = True
        return self._request("GET", f"/v1/invoice/{payment_hash}", about=payment_hash)

    def _decode(self, request: str) -> bolt11.Invoice:
        try:
            return bolt11.decode_invoice(request, network=self._config.network)
        except PaymentError as exc:
            raise NodeMisbehaving(
                f"The Lightning node {self._config.key!r} returned a payment "
                f"request we refuse: {exc}",
                node=self._config.key,
            ) from exc

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self._config.url,
                headers={MACAROON_HEADER: self._config.macaroon_hex},
                timeout=self._config.timeout_seconds,
                verify=self._verify,
                transport=self._transport,
            )
        return self._client

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        about: str = "",
    ) -> dict[str, Any]:
        key, url = self._config.key, self._config.url
        try:
            response = self._http().request(method, path, json=json, params=params)
        except httpx.TimeoutException as exc:
            self.close()
            raise NodeUnavailable(
                f"The Lightning node {key!r} at {url} did not answer within "
                f"{self._config.timeout_seconds:g} s. It may be overloaded or "
                "cut off; check it, or wait and poll again.",
                node=key,
            ) from exc
        except httpx.TransportError as exc:
            self.close()
            raise NodeUnavailable(_transport_message(key, url, exc), node=key) from exc

        payload = json_object(response, key)
        if response.is_success:
            return payload
        message = str(payload.get("message") or payload.get("error") or "")
        if response.status_code in (401, 403) or any(
            word in message.lower() for word in _ACCESS_MESSAGES
        ):
            raise NodeAccessDenied(
                f"The Lightning node {key!r} refused our macaroon (HTTP "
                f"{response.status_code}). Install the node's current "
                "invoice.macaroon for this node; it may have been rotated.",
                node=key,
            )
        # Older LND sends "unable to locate invoice" as HTTP 500, newer as 404.
        if about and any(text in message.lower() for text in _UNKNOWN_INVOICE_MESSAGES):
            raise InvoiceUnknownToNode(
                f"The Lightning node {key!r} has no invoice {about}. If it was "
                "restored from a backup it may have lost recent invoices; check "
                "it before trusting its answers.",
                node=key,
                payment_hash=about,
            )
        if response.status_code == 404:
            raise _RouteMissing(
                f"The Lightning node {key!r} at {url} has no REST route {path}; "
                "check that the URL points at LND's REST port.",
                node=key,
            )
        raise NodeUnavailable(
            f"The Lightning node {key!r} answered HTTP {response.status_code}: "
            f"{message[:200] or 'no reason given'}.",
            node=key,
        )


class _RouteMissing(NodeUnavailable):
    """The node's REST gateway has no such route (an older LND, or not LND)."""


def _transport_message(key: str, url: str, exc: httpx.TransportError) -> str:
    if _caused_by(exc, ssl.SSLCertVerificationError):
        return (
            f"The Lightning node {key!r} at {url} presented a certificate that is "
            "not the pinned tls.cert. If the node renewed it, copy the new "
            "tls.cert; otherwise something else is answering at that address."
        )
    if isinstance(exc, httpx.ConnectError):
        what = "the connection was refused or failed"
    elif isinstance(exc, httpx.RemoteProtocolError):
        what = "it closed the connection without answering"
    else:
        what = f"the connection failed: {type(exc).__name__}"
    return (
        f"The Lightning node {key!r} at {url} cannot be reached ({what}). Check "
        "that lnd is running and its REST port is open; Lightning invoices wait "
        "until it is back."
    )


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    # httpx wraps httpcore's error, which wraps the ssl module's.
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
