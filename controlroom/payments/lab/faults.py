"""Faults a lab node server can be told to show, changeable while it runs.

Each server consults its :class:`Faults` on every request, so a test or a
drill flips a field and the very next answer changes:

- ``down``: the node answers nothing useful: ``503 Service Unavailable``,
  or with ``drop_connection`` the socket is closed without a reply;
- ``warming_up``: Core's "Loading block index..." (-28) for every call;
- ``lag_height``: the node serves its chain as it was at that height;
- ``slow_seconds``: the node waits that long before every answer;
- ``fork``: the node serves another chain (say a ``LabChain.fork``);
- ``lie``: the node answers with wrong data (:class:`Lie`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from controlroom.errors import NodeUnavailable
from controlroom.payments.addresses import Network

# How far above its real tip a node lying about its tip claims to be.
TIP_LIE_BLOCKS = 6


class ChainSource(Protocol):
    """What a lab server serves: a ``LabChain`` or the ``MainnetArchive``."""

    network: Network
    name: str

    @property
    def height(self) -> int: ...

    @property
    def tip_hash(self) -> str: ...

    def block_hash(self, height: int) -> str: ...

    def raw_block(self, block_hash: str) -> bytes: ...

    def block_height(self, block_hash: str) -> int | None: ...

    def block_txids(self, block_hash: str) -> tuple[str, ...]: ...

    def raw_transaction(self, txid: str) -> bytes: ...

    def transaction_block(self, txid: str) -> str | None: ...

    def mempool_txids(self) -> list[str]: ...


class Lie(StrEnum):
    """The wrong answers a lying node gives."""

    TIP_TOO_HIGH = "tip_too_high"  # claims a tip above its last block
    FLIPPED_BYTE = "flipped_byte"  # blocks and transactions with a byte changed
    WRONG_HASH = "wrong_hash"  # a made-up hash for every height


@dataclass
class Faults:
    """The faults a server shows now; change the fields at any time."""

    down: bool = False
    drop_connection: bool = False
    warming_up: bool = False
    lag_height: int | None = None
    slow_seconds: float = 0.0
    fork: ChainSource | None = None
    lie: Lie | None = None

    def clear(self) -> None:
        """Make the server healthy again."""
        self.down = False
        self.drop_connection = False
        self.warming_up = False
        self.lag_height = None
        self.slow_seconds = 0.0
        self.fork = None
        self.lie = None

    def view(self, chain: ChainSource) -> ChainView:
        """Return the chain as the faulty node shows it now."""
        source = self.fork if self.fork is not None else chain
        return ChainView(source, lag_height=self.lag_height, lie=self.lie)


class ChainView:
    """A chain seen through lag and lies; what a server answers from."""

    def __init__(
        self, source: ChainSource, *, lag_height: int | None, lie: Lie | None
    ) -> None:
        self.source = source
        self.network = source.network
        self.name = source.name
        self.lie = lie
        self.height = source.height
        if lag_height is not None:
            self.height = min(source.height, lag_height)

    @property
    def claimed_height(self) -> int:
        """The tip height the node reports (a liar claims more)."""
        if self.lie is Lie.TIP_TOO_HIGH:
            return self.height + TIP_LIE_BLOCKS
        return self.height

    @property
    def tip_hash(self) -> str:
        """The hash of the best block the node shows."""
        if self.height == self.source.height:
            return self.source.tip_hash
        return self.source.block_hash(self.height)

    def block_hash(self, height: int) -> str:
        """The hash the node gives for ``height``."""
        if height > self.height:
            raise NodeUnavailable(
                f"No block at height {height} (tip {self.height}).", node=self.name
            )
        real = self.source.block_hash(height)
        if self.lie is Lie.WRONG_HASH:
            return _made_up_hash(height)
        return real

    def block_height(self, block_hash: str) -> int | None:
        """The height of a block the node shows, or None."""
        height = self._lied_height(block_hash)
        if height is None:
            height = self.source.block_height(block_hash)
        if height is None or height > self.height:
            return None
        return height

    def raw_block(self, block_hash: str) -> bytes:
        """The block's bytes as the node sends them."""
        height = self.block_height(block_hash)
        if height is None:
            raise NodeUnavailable(f"No block {block_hash}.", node=self.name)
        raw = self.source.raw_block(self.source.block_hash(height))
        return _flip_last_byte(raw) if self.lie is Lie.FLIPPED_BYTE else raw

    def block_txids(self, block_hash: str) -> tuple[str, ...]:
        """The txids of a block the node shows."""
        height = self.block_height(block_hash)
        if height is None:
            raise NodeUnavailable(f"No block {block_hash}.", node=self.name)
        return self.source.block_txids(self.source.block_hash(height))

    def raw_transaction(self, txid: str) -> bytes:
        """The transaction's bytes as the node sends them."""
        raw = self.source.raw_transaction(txid)
        return _flip_last_byte(raw) if self.lie is Lie.FLIPPED_BYTE else raw

    def transaction_block(self, txid: str) -> tuple[str, int] | None:
        """The (hash, height) of the block holding ``txid`` as the node shows it."""
        block_hash = self.source.transaction_block(txid)
        if block_hash is None:
            return None
        height = self.source.block_height(block_hash)
        if height is None or height > self.height:
            return None
        return block_hash, height

    def mempool_txids(self) -> list[str]:
        """The unconfirmed txids the node shows."""
        return self.source.mempool_txids()

    def _lied_height(self, block_hash: str) -> int | None:
        text = block_hash.lower()
        if self.lie is not Lie.WRONG_HASH or not text.startswith(_LIE_PREFIX):
            return None
        height = int(text[-16:], 16)
        return height if _made_up_hash(height) == text else None


_LIE_PREFIX = "deadbeef"


def _made_up_hash(height: int) -> str:
    # The height rides in the last 16 hex digits so the liar can serve the
    # real block behind its made-up hash without a search.
    middle = hashlib.sha256(b"lab lie %d" % height).hexdigest()[:40]
    return f"{_LIE_PREFIX}{middle}{height:016x}"


def _flip_last_byte(raw: bytes) -> bytes:
    # The last byte is the last transaction's nLockTime: its txid and so the
    # block's merkle root change, the header does not.
    return raw[:-1] + bytes([raw[-1] ^ 0x01])
