"""A lab Lightning node that speaks LND's REST API on 127.0.0.1.

It checks the macaroon on every request, as LND does, and answers with the
same JSON shapes: 64-bit integers as strings, bytes as base64, errors as
``{"code", "message", "details"}``. The invoices and the payer's controls
live in :class:`~controlroom.payments.lab.lightning_node.LabLightningNode`;
the node's faults (down, slow, lying) in :class:`LightningFaults`. Nothing
here reaches beyond the loopback interface.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import secrets
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from controlroom.payments.addresses import Network
from controlroom.payments.lab.lightning_node import (
    MIN_FINAL_CLTV_EXPIRY,
    LabLightningNode,
    LightningLie,
)
from controlroom.payments.lightning.lnd_rest import MACAROON_HEADER
from controlroom.payments.lightning.node import (
    LightningInvoiceState,
    LightningNodeConfig,
)

logger = logging.getLogger(__name__)

# LND's default expiry when none is asked: a day.
LND_DEFAULT_EXPIRY_SECONDS = 86_400
_NETWORK_NAME = {
    Network.MAINNET: "mainnet",
    Network.TESTNET: "testnet",
    Network.SIGNET: "signet",
    Network.REGTEST: "regtest",
}


@dataclass
class LightningFaults:
    """The faults the lab node shows now; change the fields at any time."""

    down: bool = False  # the socket closes without a reply
    slow_seconds: float = 0.0
    lie: LightningLie | None = None

    def clear(self) -> None:
        """Make the node healthy again."""
        self.down = False
        self.slow_seconds = 0.0
        self.lie = None


class LabLightningServer:
    """LND's REST API for a :class:`LabLightningNode`, on 127.0.0.1.

    Use it as a context manager; ``url`` is where it listens (port chosen by
    the system), ``macaroon_hex`` the macaroon it accepts, fresh per run.
    With ``tls`` (certificate and key files) it speaks https. With
    ``legacy=True`` it lacks ``/v2/invoices/lookup``, like LND before 0.16.
    """

    def __init__(
        self,
        node: LabLightningNode | None = None,
        *,
        tls: tuple[Path, Path] | None = None,
        legacy: bool = False,
    ) -> None:
        self.node = node or LabLightningNode()
        self.faults = LightningFaults()
        self.legacy = legacy
        self.macaroon_hex = secrets.token_bytes(48).hex()
        self._tls = tls
        self._http: _QuietHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL the server listens on."""
        if self._http is None:
            raise RuntimeError("The lab Lightning server is not running.")
        host, port = self._http.server_address[:2]
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{host!s}:{port}"

    def node_config(
        self, *, key: str = "lab-lnd", timeout_seconds: float = 2.0
    ) -> LightningNodeConfig:
        """A configuration that reaches this server with its macaroon."""
        return LightningNodeConfig(
            key=key,
            url=self.url,
            macaroon_hex=self.macaroon_hex,
            network=self.node.network,
            tls_cert_path=self._tls[0] if self._tls else None,
            region="lab",
            provider="lab",
            timeout_seconds=timeout_seconds,
        )

    def __enter__(self) -> LabLightningServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1 and answer in a thread."""
        http = _QuietHTTPServer(("127.0.0.1", 0), _handler_for(self))
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self._tls[0]), str(self._tls[1]))
            http.socket = context.wrap_socket(http.socket, server_side=True)
        self._http = http
        # A short poll interval lets ``stop`` return at once, not in 0.5 s.
        self._thread = threading.Thread(
            target=http.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="lab-lightning",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and close the port."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http, self._thread = None, None

    def answer(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """Answer one authenticated request as LND's REST gateway would."""
        lie = self.faults.lie
        if method == "GET" and path == "/v1/getinfo":
            return 200, self._info()
        if method == "POST" and path == "/v1/invoices":
            return self._add_invoice(body, lie)
        if method == "GET" and path.startswith("/v1/invoice/"):
            return self._lookup(path.rsplit("/", 1)[-1], lie)
        if method == "GET" and path == "/v2/invoices/lookup" and not self.legacy:
            encoded = (query.get("payment_hash") or [""])[0]
            padded = encoded + "=" * (-len(encoded) % 4)
            return self._lookup(base64.urlsafe_b64decode(padded).hex(), lie)
        return 404, _error(5, "Not Found")

    def _info(self) -> dict[str, Any]:
        return {
            "identity_pubkey": self.node.node_id,
            "alias": self.node.alias,
            "block_height": self.node.block_height,
            "synced_to_chain": True,
            "testnet": self.node.network is Network.TESTNET,
            "chains": [
                {"chain": "bitcoin", "network": _NETWORK_NAME[self.node.network]}
            ],
            "version": "0.18.0-beta lab",
        }

    def _add_invoice(
        self, body: dict[str, Any], lie: LightningLie | None
    ) -> tuple[int, dict[str, Any]]:
        try:
            value_msat = int(body.get("value_msat") or 0) or 1000 * int(
                body.get("value") or 0
            )
            expiry = int(body.get("expiry") or 0) or LND_DEFAULT_EXPIRY_SECONDS
        except ValueError:
            return 400, _error(3, "invalid value or expiry")
        if value_msat <= 0:
            return 400, _error(3, "the lab node issues only invoices with an amount")
        invoice = self.node.add_invoice(
            value_msat=value_msat,
            memo=str(body.get("memo", "")),
            expiry_seconds=expiry,
            lie=lie,
        )
        return 200, {
            "r_hash": _b64(invoice.payment_hash),
            "payment_request": invoice.payment_request,
            "add_index": str(invoice.add_index),
            "payment_addr": _b64(invoice.payment_secret),
        }

    def _lookup(
        self, payment_hash: str, lie: LightningLie | None
    ) -> tuple[int, dict[str, Any]]:
        invoice = self.node.invoice(payment_hash)
        if invoice is None:
            return 404, _error(5, "unable to locate invoice")
        paid_msat = invoice.amount_paid_msat
        if lie is LightningLie.SETTLED_SHORT:
            paid_msat = invoice.value_msat // 2
        settled_at = int(invoice.settled_at.timestamp()) if invoice.settled_at else 0
        answer_hash = (
            secrets.token_bytes(32)
            if lie is LightningLie.OTHER_INVOICE
            else invoice.payment_hash
        )
        settled = invoice.state is LightningInvoiceState.SETTLED
        return 200, {
            "memo": invoice.memo,
            "r_preimage": _b64(invoice.preimage) if settled else "",
            "r_hash": _b64(answer_hash),
            "value": str(invoice.value_msat // 1000),
            "value_msat": str(invoice.value_msat),
            "settled": settled,
            "creation_date": str(int(invoice.created_at.timestamp())),
            "settle_date": str(settled_at),
            "payment_request": invoice.payment_request,
            "expiry": str(invoice.expiry_seconds),
            "cltv_expiry": str(MIN_FINAL_CLTV_EXPIRY),
            "add_index": str(invoice.add_index),
            "settle_index": str(invoice.settle_index),
            "amt_paid": str(paid_msat),
            "amt_paid_sat": str(paid_msat // 1000),
            "amt_paid_msat": str(paid_msat),
            "state": invoice.state.value,
            "htlcs": [],
            "is_keysend": False,
            "payment_addr": _b64(invoice.payment_secret),
        }


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, refused certificate) is part of
        # the drill, not an error to print on the console.
        logger.debug("lab lightning request from %s ended early", client_address)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "details": []}


def _handler_for(server: LabLightningServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            # Request lines only, never headers: they carry the macaroon.
            logger.debug("lab lightning %s", format % args)

        def _serve(self, method: str) -> None:
            faults = server.faults
            if faults.slow_seconds:
                time.sleep(faults.slow_seconds)
            if faults.down:
                self.close_connection = True
                self.connection.close()
                return
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, payload = self._authorised_answer(method, raw)
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised_answer(
            self, method: str, raw: bytes
        ) -> tuple[int, dict[str, Any]]:
            # LND checks the macaroon before the route and answers a bad one
            # with gRPC code 2 (Unknown), which its gateway sends as HTTP 500.
            given = self.headers.get(MACAROON_HEADER)
            if given is None:
                return 500, _error(2, "expected 1 macaroon, got 0")
            if not hmac.compare_digest(given.encode(), server.macaroon_hex.encode()):
                return 500, _error(
                    2,
                    "verification failed: signature mismatch after caveat verification",
                )
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                return 400, _error(3, "request body is not JSON")
            parts = urlsplit(self.path)
            return server.answer(method, parts.path, parse_qs(parts.query), body)

    return Handler
