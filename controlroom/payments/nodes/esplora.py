"""The payment-node adapter for an Esplora-style REST API.

Esplora (Blockstream's explorer backend, also run by mempool.space) serves
the chain over plain GETs; the routes used here are in its ``API.md``. The
adapter follows no redirects (a node that sends us elsewhere is treated
as unavailable, never trusted for another host's data) and reads at most
a bounded number of bytes per answer.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx

from controlroom.errors import NodeMisbehaving, NodeUnavailable
from controlroom.payments.blocks import header_hash, parse_transaction
from controlroom.payments.nodes.base import ChainTip, NodeConfig

logger = logging.getLogger(__name__)

# Consensus caps a block at 4,000,000 weight units, so 4 MB of bytes.
MAX_BLOCK_BYTES = 4_000_000
MAX_ANSWER_BYTES = 2_000_000  # JSON txid lists of a large mempool, small texts


class EsploraNode:
    """An Esplora REST node.

    Parameters
    ----------
    config
        The node's configuration; ``config.url`` is the API base, e.g.
        ``https://blockstream.info/api``.
    transport
        An httpx transport to use instead of the network (tests).
    """

    def __init__(
        self, config: NodeConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._config = config
        self._base = config.url.rstrip("/")
        self._transport = transport
        self._client: httpx.Client | None = None

    @property
    def config(self) -> NodeConfig:
        """The node's configuration (key, region, provider, network)."""
        return self._config

    def tip(self) -> ChainTip:
        """Return the node's tip; Esplora reports no separate header height.

        The height is checked against the tip block's own record, once more
        if a block arrived between the two requests.

        Raises
        ------
        NodeUnavailable
            The node cannot be reached or answered with an error.
        NodeMisbehaving
            The claimed height is not the height of the claimed tip block.
        """
        for attempt in (1, 2):
            started = time.perf_counter()
            height = self._integer(self._get("/blocks/tip/height"))
            response_ms = (time.perf_counter() - started) * 1000
            best = self._block_hash_text(self._get("/blocks/tip/hash"))
            block = self._json(self._get(f"/block/{best}"))
            actual = block.get("height") if isinstance(block, dict) else None
            if actual == height:
                return ChainTip(
                    height=height,
                    block_hash=best,
                    headers=height,
                    response_ms=response_ms,
                )
            if attempt == 2:
                raise NodeMisbehaving(
                    f"Payment node {self._key!r} says its tip is at height "
                    f"{height}, but its tip block {best} is at height {actual}.",
                    node=self._key,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def block_hash(self, height: int) -> str:
        """Return the hash of the block at ``height`` (``/block-height/:h``)."""
        return self._block_hash_text(self._get(f"/block-height/{height}"))

    def raw_block(self, block_hash: str) -> bytes:
        """Return block ``block_hash`` (``/block/:hash/raw``).

        Raises
        ------
        NodeMisbehaving
            The header of what came back does not hash to ``block_hash``.
        """
        raw = self._get(f"/block/{block_hash}/raw", limit=MAX_BLOCK_BYTES + 1000)
        if len(raw) < 80 or header_hash(raw) != block_hash.lower():
            raise NodeMisbehaving(
                f"Payment node {self._key!r} sent another block than {block_hash}.",
                node=self._key,
            )
        return raw

    def mempool_txids(self) -> list[str]:
        """Return the txids of the node's mempool (``/mempool/txids``)."""
        txids = self._json(self._get("/mempool/txids", limit=64 * MAX_ANSWER_BYTES))
        if not isinstance(txids, list) or not all(isinstance(t, str) for t in txids):
            raise NodeMisbehaving(
                f"Payment node {self._key!r} answered /mempool/txids with something "
                "other than a list of txids.",
                node=self._key,
            )
        return [str(t) for t in txids]

    def raw_transaction(self, txid: str) -> bytes:
        """Return transaction ``txid`` (``/tx/:txid/raw``)."""
        raw = self._get(f"/tx/{txid}/raw", limit=MAX_BLOCK_BYTES)
        parse_transaction(raw, expected_txid=txid, node=self._key)
        return raw

    def close(self) -> None:
        """Drop the connection pool; the next call opens a new one."""
        if self._client is not None:
            self._client.close()
        self._client = None

    @property
    def _key(self) -> str:
        return self._config.key

    def _get(self, path: str, *, limit: int = MAX_ANSWER_BYTES) -> bytes:
        client = self._open()
        url = f"{self._base}{path}"
        try:
            with client.stream("GET", url) as response:
                if response.is_redirect:
                    raise self._unavailable(
                        f"redirected {path} elsewhere; redirects are not followed"
                    )
                if response.status_code != httpx.codes.OK:
                    reason = response.read()[:200].decode("utf-8", "replace")
                    raise self._unavailable(
                        f"answered {path} with HTTP {response.status_code} "
                        f"({reason.strip() or response.reason_phrase})"
                    )
                return self._read_bounded(response, path, limit)
        except httpx.TimeoutException:
            self.close()
            raise self._unavailable(
                f"did not answer {path} within {self._config.timeout_seconds:g} s"
            ) from None
        except httpx.ConnectError:
            self.close()
            raise self._unavailable("refused the connection") from None
        except httpx.HTTPError as error:
            self.close()
            raise self._unavailable(
                f"failed during {path} ({type(error).__name__})"
            ) from None

    def _read_bounded(self, response: httpx.Response, path: str, limit: int) -> bytes:
        chunks = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise NodeMisbehaving(
                    f"Payment node {self._key!r} answered {path} with more than "
                    f"{limit:,} bytes; no honest answer is that large.",
                    node=self._key,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _open(self) -> httpx.Client:
        if self._client is None:
            seconds = self._config.timeout_seconds
            self._client = httpx.Client(
                timeout=httpx.Timeout(seconds),
                follow_redirects=False,
                limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
                transport=self._transport,
                trust_env=False,  # no proxy settings from the environment
            )
        return self._client

    def _unavailable(self, what: str) -> NodeUnavailable:
        return NodeUnavailable(
            f"Payment node {self._key!r} at {self._base} {what}.", node=self._key
        )

    def _integer(self, raw: bytes) -> int:
        text = raw.decode("ascii", "replace").strip()
        if not text.isdigit():
            raise NodeMisbehaving(
                f"Payment node {self._key!r} gave no whole number for its tip height.",
                node=self._key,
            )
        return int(text)

    def _block_hash_text(self, raw: bytes) -> str:
        text = raw.decode("ascii", "replace").strip().lower()
        if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
            raise NodeMisbehaving(
                f"Payment node {self._key!r} gave something other than a block hash.",
                node=self._key,
            )
        return text

    def _json(self, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError as error:
            raise NodeMisbehaving(
                f"Payment node {self._key!r} answered with malformed JSON.",
                node=self._key,
            ) from error
