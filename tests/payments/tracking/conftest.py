"""A lab world for the tracker: one regtest chain, three nodes that can fail."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from controlroom.errors import NodeUnavailable
from controlroom.payments.addresses import Network, address_from_script
from controlroom.payments.lab.regtest import LabChain
from controlroom.payments.models import Invoice, PaymentMethod
from controlroom.payments.nodes.base import ChainTip, NodeConfig
from controlroom.payments.service import issue_invoice
from tests.conftest import DAY
from tests.orders.world import customers, order


@dataclass
class LabNode:
    """A payment node serving a lab chain, told by the test how to misbehave.

    ``stuck_at`` serves the chain as it was at that height; ``down`` refuses
    everything; ``down_from`` refuses blocks from that height on (a node
    that dies in the middle of a scan); ``lie`` flips a byte in every block.
    """

    chain: LabChain
    key: str
    region: str
    provider: str = "lab"
    stuck_at: int | None = None
    down: bool = False
    down_from: int | None = None
    lie: bool = False
    response_ms: float = 30.0
    blocks_served: list[int] = field(default_factory=list)

    @property
    def config(self) -> NodeConfig:
        return NodeConfig(
            key=self.key,
            url=f"lab://{self.key}",
            kind="core",
            region=self.region,
            provider=self.provider,
            network=Network.REGTEST,
        )

    def _refuse(self) -> None:
        if self.down:
            raise NodeUnavailable(f"{self.key} refused the connection.", node=self.key)

    @property
    def height(self) -> int:
        top = self.chain.height
        return top if self.stuck_at is None else min(top, self.stuck_at)

    def tip(self) -> ChainTip:
        self._refuse()
        height = self.height
        return ChainTip(height, self.chain.block_hash(height), height, self.response_ms)

    def block_hash(self, height: int) -> str:
        self._refuse()
        if height > self.height:
            raise NodeUnavailable(f"{self.key} has no block {height}.", node=self.key)
        return self.chain.block_hash(height)

    def raw_block(self, block_hash: str) -> bytes:
        self._refuse()
        height = self.chain.block_height(block_hash) or 0
        if self.down_from is not None and height >= self.down_from:
            raise NodeUnavailable(f"{self.key} stopped answering.", node=self.key)
        self.blocks_served.append(height)
        raw = self.chain.raw_block(block_hash)
        if self.lie:
            return raw[:-1] + bytes([raw[-1] ^ 0x01])
        return raw

    def mempool_txids(self) -> list[str]:
        self._refuse()
        return [] if self.stuck_at is not None else self.chain.mempool_txids()

    def raw_transaction(self, txid: str) -> bytes:
        self._refuse()
        return self.chain.raw_transaction(txid)

    def close(self) -> None:
        pass


@dataclass
class Lab:
    """One regtest chain served by three nodes in three regions."""

    chain: LabChain
    nodes: list[LabNode]

    def node(self, key: str) -> LabNode:
        return next(n for n in self.nodes if n.key == key)


@pytest.fixture
def lab() -> Lab:
    """Three healthy nodes on a chain of five blocks."""
    chain = LabChain(start=DAY)
    chain.mine(5)
    nodes = [
        LabNode(chain, "node-eu", "eu-north", "Hetzner"),
        LabNode(chain, "node-us", "us-east", "AWS"),
        LabNode(chain, "node-ap", "ap-southeast", "OVHcloud"),
    ]
    return Lab(chain, nodes)


def regtest_address(tag: str) -> str:
    """A regtest P2WPKH address of a made-up key hash."""
    program = hashlib.sha256(tag.encode()).digest()[:20]
    script = b"\x00\x14" + program
    return address_from_script(script, network=Network.REGTEST).text


def open_invoices(session: Session, count: int, *, amount_sat: int) -> list[Invoice]:
    """``count`` on-chain invoices for parcels of one pair of customers."""
    sender, recipient = customers(session)
    invoices = []
    for number in range(count):
        invoices.append(
            issue_invoice(
                session,
                parcel=order(session, sender, recipient),
                method=PaymentMethod.ONCHAIN,
                amount_sat=amount_sat,
                created_at=DAY,
                expires_at=DAY + timedelta(hours=12),
                actor="webshop",
                required_confirmations=1,
                address=regtest_address(f"invoice {number}"),
            )
        )
    return invoices
