"""A regtest chain mined in-process, for tests and drills.

``LabChain`` starts at the real regtest genesis block and mines real blocks
on it: a BIP34 coinbase, the mempool's transactions, a correct merkle root,
``nBits`` 0x207fffff and a ground nonce, so every block passes
:func:`controlroom.payments.blocks.parse_block` for ``Network.REGTEST``.

Transactions are real serialisations paying real output scripts (any
address kind, taproot included). Their inputs are made-up outpoints with
empty scriptSigs: nothing validates scripts or input values here, only the
shape of the data a node would send. The mempool behaves like Bitcoin
Core 28's full-RBF default: a new transaction spending an input already
spent in the mempool evicts the older one.

The chain also answers the data half of the ``PaymentNode`` protocol
(``tip``, ``block_hash``, ``raw_block``, ``mempool_txids``,
``raw_transaction``), so a tracker can follow it without any server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bitcoin.core import CBlock as _CBlock
from bitcoin.core import (
    COutPoint,
    CScript,
    CTransaction,
    CTxIn,
    CTxOut,
    b2lx,
    lx,
)

from controlroom.errors import NodeUnavailable, PaymentError
from controlroom.payments.addresses import Network, parse_address
from controlroom.payments.lab.mining import (
    FINAL_SEQUENCE,
    REGTEST_GENESIS_HASH,
    coinbase,
    genesis_block,
    mine_block,
)
from controlroom.payments.nodes.base import ChainTip, NodeConfig

LAB_START = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
BLOCK_INTERVAL = timedelta(minutes=10)
_CHANGE_SAT = 100_000
_FEE_BUMP_SAT = 1_000
# BIP125: nSequence 0xfffffffd opts in to replacement; 0xffffffff does not.
_RBF_SEQUENCE = 0xFFFFFFFD
# Where the lab's change goes: a P2WPKH script of a made-up key hash.
_CHANGE_SCRIPT = b"\x00\x14" + hashlib.sha256(b"controlroom lab change").digest()[:20]


@dataclass
class _Block:
    block_hash: str
    raw: bytes
    txids: tuple[str, ...]
    spends: frozenset[str]


class LabChain:
    """A regtest chain that mines in-process; see the module docstring.

    Parameters
    ----------
    start
        The time of block 1; block ``h`` is stamped ``start + (h - 1) * 10 min``.
    name
        The key the chain answers to as a payment node.
    """

    network = Network.REGTEST

    def __init__(self, *, start: datetime = LAB_START, name: str = "lab") -> None:
        self.start = start
        self.name = name
        self._tag = name.encode()
        self._forks = 0
        self._funding = 0
        self._hashes: list[str] = []
        self._blocks: dict[str, _Block] = {}
        self._heights: dict[str, int] = {}
        self._txs: dict[str, bytes] = {}
        self._tx_block: dict[str, str] = {}
        self._mempool: dict[str, CTransaction] = {}
        self._spent: set[str] = set()
        self._add_block(genesis_block())

    @property
    def height(self) -> int:
        """The height of the chain's best block (genesis is 0)."""
        return len(self._hashes) - 1

    @property
    def tip_hash(self) -> str:
        """The hash of the chain's best block."""
        return self._hashes[-1]

    @property
    def config(self) -> NodeConfig:
        """The chain's identity when it stands in for a payment node."""
        return NodeConfig(
            key=self.name,
            url=f"lab://{self.name}",
            kind="lab",
            region="lab",
            provider="lab",
            network=Network.REGTEST,
        )

    def tip(self) -> ChainTip:
        """Return the best block as a node would report it."""
        return ChainTip(
            height=self.height,
            block_hash=self.tip_hash,
            headers=self.height,
            response_ms=0.0,
        )

    def close(self) -> None:
        """Do nothing: an in-process chain holds no connection."""

    def block_hash(self, height: int) -> str:
        """Return the hash of the block at ``height`` on this chain."""
        if not 0 <= height <= self.height:
            raise NodeUnavailable(
                f"Lab chain {self.name!r} has no block at height {height} "
                f"(its tip is at {self.height}).",
                node=self.name,
            )
        return self._hashes[height]

    def raw_block(self, block_hash: str) -> bytes:
        """Return block ``block_hash`` in consensus serialisation."""
        return self._block(block_hash).raw

    def block_height(self, block_hash: str) -> int | None:
        """Return the height of ``block_hash`` on this chain, or None."""
        return self._heights.get(block_hash.lower())

    def block_txids(self, block_hash: str) -> tuple[str, ...]:
        """Return the txids of block ``block_hash`` in block order."""
        return self._block(block_hash).txids

    def raw_transaction(self, txid: str) -> bytes:
        """Return a transaction in the mempool or in a block of this chain."""
        raw = self._txs.get(txid.lower())
        if raw is None:
            raise NodeUnavailable(
                f"Lab chain {self.name!r} knows no transaction {txid}.",
                node=self.name,
            )
        return raw

    def transaction_block(self, txid: str) -> str | None:
        """Return the hash of the block holding ``txid``, None if unconfirmed."""
        return self._tx_block.get(txid.lower())

    def mempool_txids(self) -> list[str]:
        """Return the unconfirmed txids, oldest first."""
        return list(self._mempool)

    def pay(
        self,
        outputs: Sequence[tuple[str, int]],
        *,
        rbf: bool = False,
        spends: Sequence[str] | None = None,
    ) -> str:
        """Put a transaction paying ``outputs`` into the mempool; return its txid.

        ``outputs`` are ``(address, sat)`` pairs of regtest addresses; a
        change output follows them. ``spends`` are outpoints ``"txid:vout"``;
        by default the transaction spends one made-up outpoint of its own.
        A transaction spending an outpoint another mempool transaction
        spends evicts that one (full RBF); spending an outpoint already
        spent in a block is refused.
        """
        if not outputs:
            raise PaymentError("A lab payment needs at least one output.")
        sequence = _RBF_SEQUENCE if rbf else FINAL_SEQUENCE
        outpoints = list(spends) if spends else [self._new_funding()]
        inputs = [CTxIn(_outpoint(text), nSequence=sequence) for text in outpoints]
        self._refuse_confirmed_spends(outpoints)
        return self._accept(inputs, _outputs(outputs), _CHANGE_SAT)

    def replace(
        self, txid: str, *, outputs: Sequence[tuple[str, int]] | None = None
    ) -> str:
        """Replace a mempool transaction by fee (BIP125); return the new txid.

        The replacement spends the same inputs. It pays ``outputs`` if
        given, otherwise the same outputs; either way its change is lower by
        a fee bump, so its txid differs. The old transaction leaves the
        mempool.
        """
        old = self._mempool.get(txid.lower())
        if old is None:
            raise PaymentError(
                f"Transaction {txid} is not in lab chain {self.name!r}'s mempool; "
                "only an unconfirmed transaction can be replaced."
            )
        paid = list(old.vout[:-1]) if outputs is None else _outputs(outputs)
        change = old.vout[-1].nValue - _FEE_BUMP_SAT
        return self._accept(list(old.vin), paid, change)

    def mine(self, count: int = 1, *, at: datetime | None = None) -> list[str]:
        """Mine ``count`` blocks; the first takes the whole mempool.

        Blocks are stamped on the chain's ten-minute rhythm from ``start``,
        unless ``at`` gives their time (a replayed day mines at its own
        block times). Returns the new blocks' hashes, lowest first.
        """
        mined = []
        for _ in range(count):
            height = self.height + 1
            txs = [coinbase(height, self._tag), *self._mempool.values()]
            self._mempool.clear()
            stamp = self.start + (height - 1) * BLOCK_INTERVAL if at is None else at
            block = mine_block(
                prev_hash=self.tip_hash, txs=txs, time=int(stamp.timestamp())
            )
            self._add_block(block)
            mined.append(self.tip_hash)
        return mined

    def fork(self, at_height: int) -> LabChain:
        """Return a chain sharing this one's blocks up to ``at_height``.

        Blocks mined on the copy differ from this chain's (their coinbase
        names the fork), so the two diverge above ``at_height``. As in a
        reorg, the copy's mempool holds the transactions of the blocks it
        left out, then this chain's mempool.
        """
        if not 0 <= at_height <= self.height:
            raise PaymentError(
                f"Cannot fork lab chain {self.name!r} at height {at_height}: its "
                f"blocks run from 0 to {self.height}."
            )
        self._forks += 1
        copy = LabChain(start=self.start, name=f"{self.name}-fork{self._forks}")
        copy._hashes = self._hashes[: at_height + 1]
        kept = set(copy._hashes)
        copy._blocks = {h: b for h, b in self._blocks.items() if h in kept}
        copy._heights = {h: n for h, n in self._heights.items() if h in kept}
        copy._txs = dict(self._txs)
        copy._tx_block = {t: h for t, h in self._tx_block.items() if h in kept}
        copy._funding = self._funding
        copy._spent = set().union(*(b.spends for b in copy._blocks.values()))
        copy._tag = self._tag + b"/" + str(self._forks).encode()

        for block_hash in self._hashes[at_height + 1 :]:
            for txid in self._blocks[block_hash].txids[1:]:
                copy._mempool[txid] = CTransaction.deserialize(self._txs[txid])
        copy._mempool.update(self._mempool)
        copy._txs = {
            t: raw
            for t, raw in copy._txs.items()
            if t in copy._tx_block or t in copy._mempool
        }
        return copy

    def _block(self, block_hash: str) -> _Block:
        block = self._blocks.get(block_hash.lower())
        if block is None:
            raise NodeUnavailable(
                f"Lab chain {self.name!r} has no block {block_hash}.",
                node=self.name,
            )
        return block

    def _add_block(self, block: _CBlock) -> None:
        block_hash = b2lx(block.GetHash())
        txids = tuple(b2lx(tx.GetTxid()) for tx in block.vtx)
        spends = frozenset(
            _outpoint_text(txin.prevout) for tx in block.vtx[1:] for txin in tx.vin
        )
        self._blocks[block_hash] = _Block(block_hash, block.serialize(), txids, spends)
        self._spent |= spends
        self._heights[block_hash] = len(self._hashes)
        self._hashes.append(block_hash)
        for tx, txid in zip(block.vtx, txids, strict=True):
            self._txs[txid] = tx.serialize()
            self._tx_block[txid] = block_hash

    def _new_funding(self) -> str:
        # A made-up outpoint, unique per chain, fork and payment.
        self._funding += 1
        seed = self._tag + b":funding:" + str(self._funding).encode()
        return f"{hashlib.sha256(seed).hexdigest()}:0"

    def _refuse_confirmed_spends(self, outpoints: Sequence[str]) -> None:
        confirmed = [o for o in outpoints if o.lower() in self._spent]
        if confirmed:
            raise PaymentError(
                f"Outpoint {confirmed[0]} is already spent in a block of lab chain "
                f"{self.name!r}; a transaction spending it would be invalid."
            )

    def _accept(self, inputs: list[CTxIn], paid: list[CTxOut], change: int) -> str:
        tx = CTransaction(
            inputs, [*paid, CTxOut(change, CScript(_CHANGE_SCRIPT))], nVersion=2
        )
        txid = str(b2lx(tx.GetTxid()))
        spending = {(txin.prevout.hash, txin.prevout.n) for txin in inputs}
        for other, other_tx in list(self._mempool.items()):
            if any((i.prevout.hash, i.prevout.n) in spending for i in other_tx.vin):
                del self._mempool[other]
                del self._txs[other]
        self._mempool[txid] = tx
        self._txs[txid] = tx.serialize()
        return txid


def _outpoint(text: str) -> COutPoint:
    txid, _, vout = text.partition(":")
    if len(txid) != 64 or not vout.isdigit():
        raise PaymentError(
            f"{text!r} is not an outpoint; write it as '<64 hex txid>:<output index>'."
        )
    return COutPoint(lx(txid), int(vout))


def _outpoint_text(outpoint: COutPoint) -> str:
    return f"{b2lx(outpoint.hash)}:{outpoint.n}"


def _outputs(outputs: Sequence[tuple[str, int]]) -> list[CTxOut]:
    paid = []
    for address, sat in outputs:
        script = parse_address(address, network=Network.REGTEST).script_pubkey
        if sat <= 0:
            raise PaymentError(f"A lab payment to {address} must be above 0 sat.")
        paid.append(CTxOut(sat, CScript(bytes.fromhex(script))))
    return paid


__all__ = ["BLOCK_INTERVAL", "LAB_START", "REGTEST_GENESIS_HASH", "LabChain"]
