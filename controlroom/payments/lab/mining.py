"""Mining regtest blocks: the real genesis block, coinbases and a ground nonce.

The lab chain (``regtest``) builds its blocks here. Regtest's proof-of-work
limit (``nBits`` 0x207fffff) is so easy that about every second nonce
meets it, so grinding in Python takes microseconds.
"""

from __future__ import annotations

import hashlib

from bitcoin.core import (
    COIN,
    CBlock,
    COutPoint,
    CScript,
    CTransaction,
    CTxIn,
    CTxOut,
    b2lx,
    lx,
)

REGTEST_GENESIS_HASH = (
    "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
)
FINAL_SEQUENCE = 0xFFFFFFFF
_REGTEST_BITS = 0x207FFFFF
_REGTEST_TARGET = 0x7FFFFF << (8 * (0x20 - 3))
# Core's regtest: the subsidy halves every 150 blocks (nSubsidyHalvingInterval).
_HALVING_INTERVAL = 150

# The genesis coinbase is the same on every network (chainparams.cpp).
_GENESIS_SCRIPT_SIG = bytes.fromhex(
    "04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c"
    "6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062"
    "616e6b73"
)
_GENESIS_OUTPUT_SCRIPT = bytes.fromhex(
    "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6"
    "bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac"
)
_GENESIS_TIME = 1296688602
_GENESIS_NONCE = 2


# Where the lab's coinbase rewards go: a P2WPKH script of a made-up key
# hash, since no one will ever spend them.
_MINER_SCRIPT = b"\x00\x14" + hashlib.sha256(b"controlroom lab miner").digest()[:20]


def coinbase(height: int, tag: bytes) -> CTransaction:
    """The coinbase of block ``height``, naming the chain by ``tag``."""
    # BIP34: the coinbase scriptSig starts with the block height; the tag
    # after it makes each fork's coinbase, and so its blocks, its own.
    script_sig = CScript([height, tag])
    subsidy = (50 * COIN) >> (height // _HALVING_INTERVAL)
    return CTransaction(
        [CTxIn(COutPoint(), script_sig, nSequence=FINAL_SEQUENCE)],
        [CTxOut(subsidy, CScript(_MINER_SCRIPT))],
        nVersion=2,
    )


def genesis_block() -> CBlock:
    """Regtest's genesis block, exactly as Bitcoin Core's chainparams build it."""
    coinbase = CTransaction(
        [CTxIn(COutPoint(), CScript(_GENESIS_SCRIPT_SIG))],
        [CTxOut(50 * COIN, CScript(_GENESIS_OUTPUT_SCRIPT))],
        nVersion=1,
    )
    block = CBlock(
        nVersion=1,
        hashPrevBlock=b"\x00" * 32,
        nTime=_GENESIS_TIME,
        nBits=_REGTEST_BITS,
        nNonce=_GENESIS_NONCE,
        vtx=[coinbase],
    )
    block = _with_merkle_root(block)
    assert b2lx(block.GetHash()) == REGTEST_GENESIS_HASH
    return block


def _with_merkle_root(block: CBlock) -> CBlock:
    return CBlock(
        nVersion=block.nVersion,
        hashPrevBlock=block.hashPrevBlock,
        hashMerkleRoot=block.calc_merkle_root(),
        nTime=block.nTime,
        nBits=block.nBits,
        nNonce=block.nNonce,
        vtx=block.vtx,
    )


def mine_block(*, prev_hash: str, txs: list[CTransaction], time: int) -> CBlock:
    """A block of ``txs`` on ``prev_hash`` at ``time``, with a valid nonce."""
    template = _with_merkle_root(
        CBlock(
            nVersion=0x20000000,  # BIP9 version bits, no deployment signalled
            hashPrevBlock=lx(prev_hash),
            nTime=time,
            nBits=_REGTEST_BITS,
            vtx=txs,
        )
    )
    # Grinding the header directly is enough: at regtest's limit about
    # every second nonce meets the target.
    header = bytearray(template.get_header().serialize())
    for nonce in range(2**32):
        header[76:80] = nonce.to_bytes(4, "little")
        digest = hashlib.sha256(hashlib.sha256(header).digest()).digest()
        if int.from_bytes(digest, "little") <= _REGTEST_TARGET:
            break
    return CBlock(
        nVersion=template.nVersion,
        hashPrevBlock=template.hashPrevBlock,
        hashMerkleRoot=template.hashMerkleRoot,
        nTime=template.nTime,
        nBits=template.nBits,
        nNonce=nonce,
        vtx=txs,
    )
