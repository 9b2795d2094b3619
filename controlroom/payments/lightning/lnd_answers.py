"""Reading LND's JSON answers, as its REST gateway writes them.

The gateway writes 64-bit integers as strings, bytes as base64 and leaves
out fields whose value is zero or empty. Anything that does not read is the
node's fault and raises :class:`~controlroom.errors.NodeMisbehaving`.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

import httpx

from controlroom.errors import NodeMisbehaving
from controlroom.payments import bolt11
from controlroom.payments.addresses import Network
from controlroom.payments.lightning.node import (
    LightningInvoiceState,
    NodeInvoiceStatus,
)

NETWORK_NAMES: dict[str, Network] = {
    "mainnet": Network.MAINNET,
    "testnet": Network.TESTNET,
    "testnet3": Network.TESTNET,
    "signet": Network.SIGNET,
    "regtest": Network.REGTEST,
}


def invoice_differences(
    decoded: bolt11.Invoice,
    *,
    amount_msat: int,
    payment_hash: str,
    payment_secret: str | None,
    memo: str,
    expiry_seconds: int,
    payee: str | None,
) -> list[str]:
    """List how the decoded invoice differs from what was asked; empty if not."""
    found = []
    if decoded.amount_msat != amount_msat:
        found.append(f"amount {decoded.amount_msat} msat instead of {amount_msat} msat")
    if decoded.payment_hash != payment_hash:
        found.append("its payment hash is not the r_hash the node reported")
    if payment_secret is not None and decoded.payment_secret != payment_secret:
        found.append("its payment secret is not the payment_addr the node reported")
    if decoded.description != memo:
        found.append("its description is not the memo we gave")
    if decoded.expiry_seconds != expiry_seconds:
        found.append(f"expiry {decoded.expiry_seconds} s instead of {expiry_seconds} s")
    if payee is not None and decoded.payee_node_id != payee:
        found.append(f"signed by {decoded.payee_node_id[:16]}…, not by the node")
    return found


def invoice_status(
    payload: dict[str, Any], payment_hash: str, key: str
) -> NodeInvoiceStatus:
    """Read an lnrpc ``Invoice`` answer; a settled one must be fully paid."""
    try:
        state = LightningInvoiceState(str(payload.get("state", "OPEN")))
    except ValueError:
        raise NodeMisbehaving(
            f"The Lightning node {key!r} gave invoice {payment_hash} the unknown "
            f"state {payload.get('state')!r}.",
            node=key,
        ) from None
    paid_msat = integer_field(payload, "amt_paid_msat", key)
    value_msat = integer_field(payload, "value_msat", key)
    settle_date = integer_field(payload, "settle_date", key)
    if state is LightningInvoiceState.SETTLED and (
        paid_msat < value_msat or paid_msat <= 0 or settle_date <= 0
    ):
        raise NodeMisbehaving(
            f"The Lightning node {key!r} calls invoice {payment_hash} settled "
            f"with {paid_msat} msat paid of {value_msat} msat; LND settles only "
            "a full payment. Check the node before trusting it.",
            node=key,
        )
    return NodeInvoiceStatus(
        payment_hash=payment_hash,
        state=state,
        value_msat=value_msat,
        amount_paid_msat=paid_msat,
        created_at=_timestamp(integer_field(payload, "creation_date", key)),
        expiry_seconds=integer_field(payload, "expiry", key),
        settled_at=_timestamp(settle_date) if settle_date > 0 else None,
    )


def json_object(response: httpx.Response, key: str) -> dict[str, Any]:
    """Return the answer's JSON object (empty for a bare 404)."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        if response.status_code == 404:
            return {}
        raise NodeMisbehaving(
            f"The Lightning node {key!r} answered HTTP {response.status_code} with "
            "something that is not a JSON object.",
            node=key,
        )
    return payload


def text_field(payload: dict[str, Any], name: str, key: str) -> str:
    """Return a non-empty string field."""
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise NodeMisbehaving(
            f"The Lightning node {key!r} left out {name!r} in its answer.", node=key
        )
    return value


def integer_field(payload: dict[str, Any], name: str, key: str) -> int:
    """Return an integer field, 0 when left out."""
    # The REST gateway writes 64-bit integers as strings and leaves out zeros.
    value = payload.get(name, 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NodeMisbehaving(
            f"The Lightning node {key!r} gave {name!r} as {value!r}, not a number.",
            node=key,
        ) from None


def bytes_field(payload: dict[str, Any], name: str, key: str) -> bytes:
    """Return a base64 field (standard or URL-safe, padded or not) as bytes."""
    value = text_field(payload, name, key)
    try:
        # Bytes are base64; the v2 routes may use the URL-safe alphabet.
        standard = value.replace("-", "+").replace("_", "/")
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise NodeMisbehaving(
            f"The Lightning node {key!r} gave {name!r} in a form that is not base64.",
            node=key,
        ) from None


def _timestamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
