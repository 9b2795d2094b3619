"""Blocks and transactions as a node sends them, parsed and checked.

The bytes are Bitcoin's consensus serialisation (BIP144 for segwit). We
parse them with python-bitcoinlib and check what a block can prove about
itself: its hash is the one we asked for, its merkle root (and witness
commitment, BIP141) matches its transactions, and its header carries the
proof of work its ``nBits`` claims, within the network's limit. A node that
sends anything else is misbehaving, whatever the reason.

Proof of work is checked here rather than by ``CheckBlock``: that reads the
process-wide network chosen with ``bitcoin.SelectParams``, which we never
set, so one process can follow mainnet and a regtest lab side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bitcoin.core import CBlock, CheckBlock, CTransaction, Hash, b2lx
from bitcoin.core.serialize import DeserializationExtraDataError, SerializationError

from controlroom.errors import NodeMisbehaving
from controlroom.payments.addresses import Network

# BIP125: an input with nSequence below 0xfffffffe opts the transaction in
# to replacement by fee.
_RBF_THRESHOLD = 0xFFFFFFFE


def _target(bits: int) -> int:
    """Expand a compact ``nBits`` into its 256-bit target (Core's arith_uint256)."""
    exponent = bits >> 24
    mantissa = bits & 0x007FFFFF
    if bits & 0x00800000:
        return -1  # a negative target: no hash can meet it
    if exponent <= 3:
        return mantissa >> (8 * (3 - exponent))
    return mantissa << (8 * (exponent - 3))


# Each network's easiest allowed target, Core's consensus.powLimit.
_POW_LIMIT = {
    Network.MAINNET: _target(0x1D00FFFF),
    Network.TESTNET: _target(0x1D00FFFF),
    Network.SIGNET: _target(0x1E0377AE),
    Network.REGTEST: _target(0x207FFFFF),
}


@dataclass(frozen=True)
class TxOutput:
    """One output: where it pays and how much."""

    vout: int
    script_pubkey: bytes
    value_sat: int


@dataclass(frozen=True)
class ParsedTransaction:
    """A transaction reduced to what payment tracking needs.

    ``inputs`` are the outpoints it spends as ``"txid:vout"``; a coinbase
    spends none.
    """

    txid: str
    inputs: tuple[str, ...]
    outputs: tuple[TxOutput, ...]
    signals_rbf: bool
    is_coinbase: bool


@dataclass(frozen=True)
class ParsedBlock:
    """A checked block: its place in the chain and its transactions."""

    block_hash: str
    prev_hash: str
    time: datetime
    transactions: tuple[ParsedTransaction, ...]


def parse_block(
    raw: bytes,
    *,
    network: Network,
    expected_hash: str | None = None,
    node: str = "",
) -> ParsedBlock:
    """Parse a serialised block and check it proves itself.

    Parameters
    ----------
    raw
        The block in consensus serialisation, as ``getblock <hash> 0`` or
        Esplora's ``/block/:hash/raw`` return it.
    network
        The network whose proof-of-work limit applies.
    expected_hash
        The hash we asked the node for; a block with another hash is refused.
    node
        The node's key, carried by the error so fail-over knows whom to blame.

    Raises
    ------
    NodeMisbehaving
        The bytes are not a block, or the block's hash, proof of work,
        merkle root or witness commitment is wrong.
    """
    block = _deserialize_block(raw, node)
    block_hash = b2lx(block.GetHash())

    if expected_hash is not None and block_hash != expected_hash.lower():
        raise NodeMisbehaving(
            f"Node {node!r} sent block {block_hash} when asked for "
            f"{expected_hash}; it is not to be trusted for this chain.",
            node=node,
        )
    _check_proof_of_work(block, block_hash, network, node)
    try:
        # The header's timestamp rule compares with the wall clock, which
        # drills replay on a simulated clock; so that check is left out by
        # passing the block's own time. Everything else of CheckBlock runs.
        CheckBlock(block, fCheckPoW=False, cur_time=block.nTime)
    except Exception as error:  # CheckBlockError, or a malformed witness
        raise NodeMisbehaving(
            f"Node {node!r} sent block {block_hash}, which fails its own check "
            f"({_reason(error)}): its transactions were altered or made up.",
            node=node,
        ) from error

    return ParsedBlock(
        block_hash=block_hash,
        prev_hash=b2lx(block.hashPrevBlock),
        time=datetime.fromtimestamp(block.nTime, tz=UTC),
        # Deserialising built the merkle tree, whose first level is the
        # txids: hashing every transaction again would double the cost.
        transactions=tuple(
            _summarise(tx, txid)
            for tx, txid in zip(block.vtx, block.vMerkleTree, strict=False)
        ),
    )


def parse_transaction(
    raw: bytes, *, expected_txid: str | None = None, node: str = ""
) -> ParsedTransaction:
    """Parse a serialised transaction, refusing one with an unexpected txid.

    Raises
    ------
    NodeMisbehaving
        The bytes are not one transaction, or its txid is not the one asked for.
    """
    try:
        tx = CTransaction.deserialize(bytes(raw))
    except (SerializationError, ValueError, IndexError) as error:
        raise NodeMisbehaving(
            f"Node {node!r} sent bytes that are not a transaction ({_reason(error)}).",
            node=node,
        ) from error

    parsed = _summarise(tx, tx.GetTxid())
    if expected_txid is not None and parsed.txid != expected_txid.lower():
        raise NodeMisbehaving(
            f"Node {node!r} sent transaction {parsed.txid} when asked for "
            f"{expected_txid}.",
            node=node,
        )
    return parsed


def header_hash(raw_block: bytes) -> str:
    """Return the display hash of a block from its first 80 bytes."""
    return str(b2lx(Hash(bytes(raw_block[:80]))))


def _deserialize_block(raw: bytes, node: str) -> CBlock:
    try:
        return CBlock.deserialize(bytes(raw))
    except DeserializationExtraDataError as error:
        raise NodeMisbehaving(
            f"Node {node!r} sent a block with stray bytes after its last transaction.",
            node=node,
        ) from error
    except (SerializationError, ValueError, IndexError) as error:
        raise NodeMisbehaving(
            f"Node {node!r} sent bytes that are not a whole block "
            f"({_reason(error)}); it may be truncated.",
            node=node,
        ) from error


def _check_proof_of_work(
    block: CBlock, block_hash: str, network: Network, node: str
) -> None:
    # Core's CheckProofOfWork: a sane target within powLimit, and the hash
    # read as a little-endian number at or below it.
    target = _target(block.nBits)
    if target <= 0 or target > _POW_LIMIT[network]:
        raise NodeMisbehaving(
            f"Node {node!r} sent block {block_hash} claiming a difficulty "
            f"(nBits {block.nBits:08x}) that {network.value} does not allow.",
            node=node,
        )
    if int(block_hash, 16) > target:
        raise NodeMisbehaving(
            f"Node {node!r} sent block {block_hash} without the proof of work "
            f"its nBits {block.nBits:08x} claims; it was not mined.",
            node=node,
        )


def _summarise(tx: CTransaction, txid: bytes) -> ParsedTransaction:
    coinbase = tx.is_coinbase()
    inputs = (
        ()
        if coinbase
        else tuple(f"{b2lx(txin.prevout.hash)}:{txin.prevout.n}" for txin in tx.vin)
    )
    outputs = tuple(
        TxOutput(vout=n, script_pubkey=bytes(out.scriptPubKey), value_sat=out.nValue)
        for n, out in enumerate(tx.vout)
    )
    return ParsedTransaction(
        txid=b2lx(txid),
        inputs=inputs,
        outputs=outputs,
        signals_rbf=not coinbase
        and any(txin.nSequence < _RBF_THRESHOLD for txin in tx.vin),
        is_coinbase=coinbase,
    )


# CheckBlock's terse reasons, in words for the person reading the alert.
_READABLE = {
    "hashMerkleRoot mismatch": "its merkle root does not match its transactions",
    "invalid segwit commitment": (
        "its witness commitment does not match its transactions' witnesses"
    ),
    "first tx is not coinbase": "it does not start with a coinbase",
    "duplicate transaction": "it holds a transaction twice",
}


def _reason(error: Exception) -> str:
    text = str(error).removeprefix("CheckBlock() : ")
    return _READABLE.get(text, text) or type(error).__name__
