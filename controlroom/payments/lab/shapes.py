"""The JSON shapes real nodes answer with, built from raw blocks and txs.

Core's follow its RPC help (``getblock``, ``getrawtransaction``); Esplora's
its ``API.md``. The lab leaves out what it cannot know or nobody here reads:
Core's ``chainwork`` (the archive holds no whole chain), script ``asm`` and
``desc``, and Esplora's ``prevout`` and ``fee`` (the lab does not hold the
outputs a transaction spends).
"""

from __future__ import annotations

import io
from typing import Any

from bitcoin.core import COIN, CBlock, CBlockHeader, CTransaction, b2lx
from bitcoin.core.serialize import VarIntSerializer

from controlroom.errors import PaymentError
from controlroom.payments.addresses import AddressKind, Network, address_from_script

_CORE_CHAIN = {
    Network.MAINNET: "main",
    Network.TESTNET: "test",
    Network.SIGNET: "signet",
    Network.REGTEST: "regtest",
}
_CORE_TYPE: dict[str, str] = {
    "op_return": "nulldata",
    AddressKind.P2PKH: "pubkeyhash",
    AddressKind.P2SH: "scripthash",
    AddressKind.P2WPKH: "witness_v0_keyhash",
    AddressKind.P2WSH: "witness_v0_scripthash",
    AddressKind.P2TR: "witness_v1_taproot",
    AddressKind.WITNESS_UNKNOWN: "witness_unknown",
}
_ESPLORA_TYPE: dict[str, str] = {
    "op_return": "op_return",
    AddressKind.P2PKH: "p2pkh",
    AddressKind.P2SH: "p2sh",
    AddressKind.P2WPKH: "v0_p2wpkh",
    AddressKind.P2WSH: "v0_p2wsh",
    AddressKind.P2TR: "v1_p2tr",
    AddressKind.WITNESS_UNKNOWN: "unknown",
}
_OP_RETURN = 0x6A


def core_chain_name(network: Network) -> str:
    """Core's name for a network in ``getblockchaininfo``."""
    return _CORE_CHAIN[network]


def target_hex(bits: int) -> str:
    """The 256-bit target of a compact ``nBits``, as Core prints it."""
    exponent, mantissa = bits >> 24, bits & 0x007FFFFF
    target = mantissa << (8 * (exponent - 3)) if exponent > 3 else mantissa
    return f"{target:064x}"


def difficulty(bits: int) -> float:
    """Core's difficulty: the easiest mainnet target over this one."""
    return int(target_hex(0x1D00FFFF), 16) / int(target_hex(bits), 16)


def read_header(raw_block: bytes) -> tuple[CBlockHeader, int]:
    """The header of a serialised block and its transaction count, cheaply."""
    stream = io.BytesIO(raw_block[80:89])
    return CBlockHeader.deserialize(
        raw_block[:80]
    ), VarIntSerializer.stream_deserialize(stream)


def core_header(
    block: CBlockHeader,
    *,
    n_tx: int,
    height: int,
    tip_height: int,
    next_hash: str | None,
) -> dict[str, Any]:
    """``getblockheader <hash> true`` for a block at ``height``."""
    header: dict[str, Any] = {
        "hash": b2lx(block.GetHash()),
        "confirmations": tip_height - height + 1,
        "height": height,
        "version": block.nVersion,
        "versionHex": f"{block.nVersion & 0xFFFFFFFF:08x}",
        "merkleroot": b2lx(block.hashMerkleRoot),
        "time": block.nTime,
        "nonce": block.nNonce,
        "bits": f"{block.nBits:08x}",
        "target": target_hex(block.nBits),
        "difficulty": difficulty(block.nBits),
        "nTx": n_tx,
    }
    if height > 0:
        header["previousblockhash"] = b2lx(block.hashPrevBlock)
    if next_hash is not None:
        header["nextblockhash"] = next_hash
    return header


def core_block(
    block: CBlock,
    *,
    height: int,
    tip_height: int,
    next_hash: str | None,
    network: Network,
    verbosity: int,
) -> dict[str, Any]:
    """``getblock <hash> 1`` (txids) or ``2`` (transactions) of a block."""
    shaped = core_header(
        block,
        n_tx=len(block.vtx),
        height=height,
        tip_height=tip_height,
        next_hash=next_hash,
    )
    shaped["strippedsize"] = len(block.serialize({"include_witness": False}))
    shaped["size"] = len(block.serialize())
    shaped["weight"] = block.GetWeight()
    if verbosity == 1:
        shaped["tx"] = [b2lx(tx.GetTxid()) for tx in block.vtx]
    else:
        shaped["tx"] = [core_transaction(tx, network=network) for tx in block.vtx]
    return shaped


def core_transaction(tx: CTransaction, *, network: Network) -> dict[str, Any]:
    """``getrawtransaction <txid> 1`` without the block fields."""
    vin: list[dict[str, Any]] = []
    for index, txin in enumerate(tx.vin):
        entry: dict[str, Any]
        if tx.is_coinbase():
            entry = {"coinbase": bytes(txin.scriptSig).hex()}
        else:
            entry = {
                "txid": b2lx(txin.prevout.hash),
                "vout": txin.prevout.n,
                "scriptSig": {"hex": bytes(txin.scriptSig).hex()},
            }
        witness = _witness(tx, index)
        if witness:
            entry["txinwitness"] = witness
        entry["sequence"] = txin.nSequence
        vin.append(entry)

    vout = []
    for n, out in enumerate(tx.vout):
        script = bytes(out.scriptPubKey)
        described: dict[str, Any] = {"hex": script.hex()}
        kind, address = _classify(script, network)
        if address is not None:
            described["address"] = address
        described["type"] = _CORE_TYPE.get(kind, kind) if kind else "nonstandard"
        vout.append(
            {
                # Core prints BTC with 8 decimals; clients parse them as
                # Decimal, never float, before turning them into sat.
                "value": out.nValue / COIN,
                "n": n,
                "scriptPubKey": described,
            }
        )
    return {
        "txid": b2lx(tx.GetTxid()),
        "hash": b2lx(tx.GetHash()),
        "version": tx.nVersion,
        "size": len(tx.serialize()),
        "vsize": (_weight(tx) + 3) // 4,
        "weight": _weight(tx),
        "locktime": tx.nLockTime,
        "vin": vin,
        "vout": vout,
        "hex": tx.serialize().hex(),
    }


def esplora_transaction(
    tx: CTransaction, *, network: Network, status: dict[str, Any]
) -> dict[str, Any]:
    """Esplora's ``/tx/:txid`` (without ``prevout`` values and ``fee``)."""
    vin = []
    for index, txin in enumerate(tx.vin):
        coinbase = tx.is_coinbase()
        entry: dict[str, Any] = {
            "txid": b2lx(txin.prevout.hash),
            "vout": txin.prevout.n,
            "prevout": None,
            "scriptsig": bytes(txin.scriptSig).hex(),
            "is_coinbase": coinbase,
            "sequence": txin.nSequence,
        }
        witness = _witness(tx, index)
        if witness:
            entry["witness"] = witness
        vin.append(entry)

    vout = []
    for out in tx.vout:
        script = bytes(out.scriptPubKey)
        kind, address = _classify(script, network)
        entry = {
            "scriptpubkey": script.hex(),
            "scriptpubkey_type": _ESPLORA_TYPE.get(kind, kind) if kind else "unknown",
            "value": out.nValue,
        }
        if address is not None:
            entry["scriptpubkey_address"] = address
        vout.append(entry)
    return {
        "txid": b2lx(tx.GetTxid()),
        "version": tx.nVersion,
        "locktime": tx.nLockTime,
        "vin": vin,
        "vout": vout,
        "size": len(tx.serialize()),
        "weight": _weight(tx),
        "status": status,
    }


def esplora_status(
    block_hash: str | None, *, height: int | None, block_time: int | None
) -> dict[str, Any]:
    """Esplora's ``/tx/:txid/status``."""
    if block_hash is None:
        return {"confirmed": False}
    return {
        "confirmed": True,
        "block_height": height,
        "block_hash": block_hash,
        "block_time": block_time,
    }


def esplora_block(block: CBlock, *, height: int) -> dict[str, Any]:
    """Esplora's ``/block/:hash``."""
    return {
        "id": b2lx(block.GetHash()),
        "height": height,
        "version": block.nVersion,
        "timestamp": block.nTime,
        "tx_count": len(block.vtx),
        "size": len(block.serialize()),
        "weight": block.GetWeight(),
        "merkle_root": b2lx(block.hashMerkleRoot),
        "previousblockhash": b2lx(block.hashPrevBlock) if height > 0 else None,
        "nonce": block.nNonce,
        "bits": block.nBits,
        "difficulty": difficulty(block.nBits),
    }


def _classify(script: bytes, network: Network) -> tuple[str | None, str | None]:
    if script[:1] == bytes([_OP_RETURN]):
        return "op_return", None
    try:
        address = address_from_script(script, network=network)
    except PaymentError:
        return None, None
    return address.kind, address.text


def _witness(tx: CTransaction, index: int) -> list[str]:
    if tx.wit.is_null():
        return []
    return [bytes(item).hex() for item in tx.wit.vtxinwit[index].scriptWitness.stack]


def _weight(tx: CTransaction) -> int:
    # BIP141: weight = stripped size * 3 + total size.
    stripped = len(tx.serialize({"include_witness": False}))
    return stripped * 3 + len(tx.serialize())
