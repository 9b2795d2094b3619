"""The payment-node adapter for Bitcoin Core's JSON-RPC interface.

It speaks through python-bitcoinlib's ``RawProxy``. That client keeps one
HTTP connection and is left unusable once the connection drops (the next
request fails with ``CannotSendRequest`` or ``RemoteDisconnected``), so the
adapter builds a new proxy after any connection failure and tries once
more. Every failure reaches the caller as ``NodeUnavailable`` naming the
node and its URL; the RPC password never appears in a message or a log.
"""

from __future__ import annotations

import http.client
import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bitcoin.rpc import JSONRPCError, RawProxy

from controlroom.errors import ConfigurationError, NodeMisbehaving, NodeUnavailable
from controlroom.payments.blocks import header_hash, parse_transaction
from controlroom.payments.nodes.base import ChainTip, NodeConfig

logger = logging.getLogger(__name__)

# Failures after which the one connection RawProxy keeps is dead.
_CONNECTION_ERRORS = (OSError, http.client.HTTPException)
_RPC_WARMING_UP = -28
_NON_JSON_REPLY = -342


class CoreRpcNode:
    """A Bitcoin Core node reached over JSON-RPC.

    Parameters
    ----------
    config
        The node's configuration; ``config.url`` is ``http://user@host:port``
        (Core's RPC speaks plain HTTP; run it behind a tunnel across hosts).
    password
        The RPC password (``rpcpassword``), kept only in memory.

    Raises
    ------
    ConfigurationError
        The user or password holds a character the RPC client cannot send.
    """

    def __init__(self, config: NodeConfig, *, password: str | None) -> None:
        self._config = config
        parts = urlsplit(config.url)
        self._display_url = urlunsplit(
            (parts.scheme, _host_port(parts), parts.path, "", "")
        )
        user, secret = parts.username or "", password or ""
        # RawProxy reads the credentials back from the URL without
        # unquoting them, so they go in as they are; only characters that
        # would end the URL's authority part cannot be carried.
        if any(mark in user + secret for mark in "/?#"):
            raise ConfigurationError(
                f"The RPC user or password of node {config.key!r} contains '/', "
                "'?' or '#', which the RPC client cannot send; choose one "
                "without them.",
                setting="password",
            )
        self._service_url = urlunsplit(
            (
                parts.scheme,
                f"{user}:{secret}@{_host_port(parts)}",
                parts.path or "/",
                "",
                "",
            )
        )
        self._password = password or ""
        self._proxy: RawProxy | None = None

    @property
    def config(self) -> NodeConfig:
        """The node's configuration (key, region, provider, network)."""
        return self._config

    def tip(self) -> ChainTip:
        """Return the node's best block and header heights.

        The height is checked against the tip block's own header, so a node
        claiming blocks it cannot show is caught.

        Raises
        ------
        NodeUnavailable
            The node cannot be reached or answered with an error.
        NodeMisbehaving
            The node's claimed height is not its best block's height.
        """
        started = time.perf_counter()
        info = self._call("getblockchaininfo")
        response_ms = (time.perf_counter() - started) * 1000

        height, best = _int(info, "blocks", self), _hash(info, "bestblockhash", self)
        header = self._call("getblockheader", best, True)
        if _int(header, "height", self) != height:
            raise NodeMisbehaving(
                f"Payment node {self._key!r} says its tip is at height {height}, "
                f"but its best block {best} is at height {header.get('height')}.",
                node=self._key,
            )
        return ChainTip(
            height=height,
            block_hash=best,
            headers=_int(info, "headers", self),
            response_ms=response_ms,
        )

    def block_hash(self, height: int) -> str:
        """Return the hash of the block at ``height`` (``getblockhash``)."""
        return _hash({"hash": self._call("getblockhash", height)}, "hash", self)

    def raw_block(self, block_hash: str) -> bytes:
        """Return the block ``block_hash`` (``getblock <hash> 0``).

        Raises
        ------
        NodeMisbehaving
            The header of what came back does not hash to ``block_hash``.
        """
        raw = _hex_bytes(self._call("getblock", block_hash, 0), self)
        if header_hash(raw) != block_hash.lower():
            raise NodeMisbehaving(
                f"Payment node {self._key!r} sent block {header_hash(raw)} when "
                f"asked for {block_hash}.",
                node=self._key,
            )
        return raw

    def mempool_txids(self) -> list[str]:
        """Return the txids of the node's mempool (``getrawmempool``)."""
        txids = self._call("getrawmempool")
        if not isinstance(txids, list) or not all(isinstance(t, str) for t in txids):
            raise NodeMisbehaving(
                f"Payment node {self._key!r} answered getrawmempool with something "
                "other than a list of txids.",
                node=self._key,
            )
        return [str(t) for t in txids]

    def raw_transaction(self, txid: str) -> bytes:
        """Return transaction ``txid`` (``getrawtransaction <txid> 0``)."""
        raw = _hex_bytes(self._call("getrawtransaction", txid, 0), self)
        parse_transaction(raw, expected_txid=txid, node=self._key)
        return raw

    def close(self) -> None:
        """Drop the connection; the next call opens a new one."""
        if self._proxy is not None:
            self._proxy.close()
        self._proxy = None

    @property
    def _key(self) -> str:
        return self._config.key

    def _call(self, method: str, *params: Any) -> Any:
        for attempt in (1, 2):
            if self._proxy is None:
                self._proxy = RawProxy(
                    service_url=self._service_url,
                    timeout=self._config.timeout_seconds,
                )
            try:
                return getattr(self._proxy, method)(*params)
            except JSONRPCError as error:
                raise self._rpc_error(method, error) from None
            except _CONNECTION_ERRORS as error:
                # The proxy's one connection is gone either way: rebuild it.
                self.close()
                timed_out = isinstance(error, socket.timeout | TimeoutError)
                if attempt == 2 or timed_out:
                    raise self._unreachable(method, error) from None
                logger.info(
                    "payment_node_reconnect node=%s method=%s error=%s",
                    self._key,
                    method,
                    type(error).__name__,
                )
            except ValueError as error:  # the reply was not JSON at all
                self.close()
                raise NodeMisbehaving(
                    f"Payment node {self._key!r} at {self._display_url} answered "
                    f"{method} with something that is not JSON-RPC.",
                    node=self._key,
                ) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def _rpc_error(self, method: str, error: JSONRPCError) -> NodeUnavailable:
        code = error.error.get("code")
        message = self._scrub(str(error.error.get("message", "")))
        if code == _NON_JSON_REPLY and "401" in message:
            what = (
                "refused our RPC credentials (HTTP 401); check the node's "
                "rpcuser and the stored password"
            )
        elif code == _NON_JSON_REPLY:
            what = f"did not answer in JSON-RPC ({message})"
        elif code == _RPC_WARMING_UP:
            what = f"is still starting up ({message}); try again in a minute"
        else:
            what = f"answered {method} with error {code}: {message}"
        return NodeUnavailable(
            f"Payment node {self._key!r} at {self._display_url} {what}.",
            node=self._key,
        )

    def _unreachable(self, method: str, error: Exception) -> NodeUnavailable:
        if isinstance(error, socket.timeout | TimeoutError):
            what = f"did not answer {method} within {self._config.timeout_seconds:g} s"
        elif isinstance(error, ConnectionRefusedError):
            what = "refused the connection; is bitcoind running on that port?"
        else:
            detail = self._scrub(str(error)) or type(error).__name__
            what = f"dropped the connection during {method} ({detail})"
        return NodeUnavailable(
            f"Payment node {self._key!r} at {self._display_url} {what}.",
            node=self._key,
        )

    def _scrub(self, text: str) -> str:
        # Belt and braces: nothing we show may carry the RPC password.
        if self._password:
            text = text.replace(self._password, "***")
        return text


def _host_port(parts: Any) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def _int(answer: Any, field: str, node: CoreRpcNode) -> int:
    value = answer.get(field) if isinstance(answer, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise NodeMisbehaving(
            f"Payment node {node.config.key!r} gave no whole number for {field!r}.",
            node=node.config.key,
        )
    return value


def _hash(answer: Any, field: str, node: CoreRpcNode) -> str:
    value = answer.get(field) if isinstance(answer, dict) else None
    if not isinstance(value, str) or not _is_hex(value, 64):
        raise NodeMisbehaving(
            f"Payment node {node.config.key!r} gave no block hash for {field!r}.",
            node=node.config.key,
        )
    return value.lower()


def _hex_bytes(value: Any, node: CoreRpcNode) -> bytes:
    if not isinstance(value, str) or not _is_hex(value):
        raise NodeMisbehaving(
            f"Payment node {node.config.key!r} sent data that is not hex.",
            node=node.config.key,
        )
    return bytes.fromhex(value)


def _is_hex(text: str, length: int | None = None) -> bool:
    if length is not None and len(text) != length:
        return False
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return len(text) % 2 == 0
