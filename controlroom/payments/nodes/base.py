"""The one interface the payment tracker speaks to a payment node.

Two adapters implement it: Bitcoin Core JSON-RPC (``core_rpc``) and an
Esplora-style REST API (``esplora``). The tracker only ever asks for the
few things both can answer: the tip, the hash at a height, a raw block, the
mempool and a raw transaction. It parses and checks the bytes itself
(``controlroom.payments.blocks``), so a node that lies is caught by the
data, not trusted for it.

Every method raises :class:`~controlroom.errors.NodeUnavailable` when the
node cannot answer (down, refused, timed out, an error reply) and
:class:`~controlroom.errors.NodeMisbehaving` when its answer fails a check
the adapter can make on its own (a block whose hash is not the one asked
for, malformed JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from controlroom.payments.addresses import Network


@dataclass(frozen=True)
class ChainTip:
    """Where a node says its best chain ends.

    ``headers`` is the height of the best header chain the node knows;
    a node far ahead in headers but behind in blocks is still syncing.
    ``response_ms`` is how long the node took to answer.
    """

    height: int
    block_hash: str
    headers: int
    response_ms: float


@dataclass(frozen=True)
class NodeConfig:
    """One configured payment node: where it runs and who provides it."""

    key: str
    url: str
    kind: str  # "core" or "esplora"
    region: str
    provider: str
    network: Network = Network.MAINNET
    timeout_seconds: float = 5.0


class PaymentNode(Protocol):
    """What the tracker needs of a node, whatever protocol it speaks."""

    @property
    def config(self) -> NodeConfig:
        """The node's configuration (key, region, provider, network)."""
        ...

    def tip(self) -> ChainTip:
        """Return the node's best block and header heights."""
        ...

    def block_hash(self, height: int) -> str:
        """Return the hash of the block at ``height`` on the node's chain."""
        ...

    def raw_block(self, block_hash: str) -> bytes:
        """Return the block ``block_hash`` in consensus serialisation."""
        ...

    def mempool_txids(self) -> list[str]:
        """Return the txids of the unconfirmed transactions the node holds."""
        ...

    def raw_transaction(self, txid: str) -> bytes:
        """Return transaction ``txid`` in consensus serialisation."""
        ...

    def close(self) -> None:
        """Drop the connection; the next call opens a new one."""
        ...
