"""Blocks and transactions: real mainnet data parses, altered data is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from controlroom.errors import NodeMisbehaving
from controlroom.payments.addresses import Network
from controlroom.payments.blocks import header_hash, parse_block, parse_transaction
from tests.conftest import SHARED_DATA

BITCOIN = SHARED_DATA / "bitcoin"
BLOCKS = json.loads((BITCOIN / "mainnet_blocks.json").read_text())["blocks"]
TRANSACTIONS = json.loads((BITCOIN / "mainnet_transactions.json").read_text())[
    "transactions"
]
BLOCK_702349 = (BITCOIN / "mainnet_block_702349.raw").read_bytes()
HASH_702349 = "000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae"
BLOCK_542213 = next(b for b in BLOCKS if b["height"] == 542213)


def _raw(block: dict[str, Any]) -> bytes:
    return bytes.fromhex(block["hex"])


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: str(b["height"]))
def test_every_real_block_parses_with_its_stated_hash_and_txids(
    block: dict[str, Any],
) -> None:
    parsed = parse_block(
        _raw(block), network=Network.MAINNET, expected_hash=block["hash"]
    )

    assert parsed.block_hash == block["hash"]
    assert parsed.prev_hash == block["prev_hash"]
    assert parsed.time == datetime.fromtimestamp(block["time"], tz=UTC)
    assert len(parsed.transactions) == block["n_tx"]
    assert [tx.txid for tx in parsed.transactions] == block["txids"]
    assert parsed.transactions[0].is_coinbase
    assert parsed.transactions[0].inputs == ()


def test_the_full_block_702349_parses_into_its_2500_transactions() -> None:
    parsed = parse_block(
        BLOCK_702349, network=Network.MAINNET, expected_hash=HASH_702349
    )

    assert len(parsed.transactions) == 2500
    assert sum(len(tx.outputs) for tx in parsed.transactions) == 6015
    # The data's README counts 6,518 inputs, the coinbase's null one among them.
    assert sum(len(tx.inputs) for tx in parsed.transactions) == 6518 - 1


def test_outputs_carry_script_and_value_in_sat() -> None:
    parsed = parse_block(_raw(BLOCK_542213), network=Network.MAINNET)

    coinbase_output = parsed.transactions[0].outputs[0]

    assert coinbase_output.vout == 0
    assert coinbase_output.value_sat == 1_250_004_874
    assert coinbase_output.script_pubkey.hex() == (
        "76a914edf10a7fac6b32e24daa5305c723f3de58db1bc888ac"
    )


def test_a_flipped_byte_in_a_transaction_fails_the_merkle_root() -> None:
    raw = bytearray(_raw(BLOCK_542213))
    raw[-1] ^= 0x01  # the last transaction's nLockTime

    with pytest.raises(NodeMisbehaving, match="merkle root does not match") as caught:
        parse_block(bytes(raw), network=Network.MAINNET, node="esplora-eu")

    assert caught.value.node == "esplora-eu"


def test_a_changed_nonce_fails_the_proof_of_work() -> None:
    raw = bytearray(_raw(BLOCK_542213))
    raw[76] ^= 0x01  # nNonce is the header's last four bytes

    with pytest.raises(NodeMisbehaving, match="without the proof of work"):
        parse_block(bytes(raw), network=Network.MAINNET)


def test_a_regtest_difficulty_is_refused_on_mainnet() -> None:
    raw = bytearray(_raw(BLOCK_542213))
    raw[72:76] = (0x207FFFFF).to_bytes(4, "little")

    with pytest.raises(NodeMisbehaving, match="mainnet does not allow"):
        parse_block(bytes(raw), network=Network.MAINNET)


def test_a_block_other_than_the_one_asked_for_is_refused() -> None:
    with pytest.raises(NodeMisbehaving, match="when asked for 0000000000032d10"):
        parse_block(
            _raw(BLOCK_542213),
            network=Network.MAINNET,
            expected_hash=BLOCKS[0]["hash"],
        )


@pytest.mark.parametrize("keep", [40, 80, 1000], ids=["header", "txcount", "midtx"])
def test_truncated_bytes_are_not_a_whole_block(keep: int) -> None:
    with pytest.raises(NodeMisbehaving, match="not a whole block"):
        parse_block(_raw(BLOCK_542213)[:keep], network=Network.MAINNET)


def test_stray_bytes_after_a_block_are_refused() -> None:
    with pytest.raises(NodeMisbehaving, match="stray bytes"):
        parse_block(_raw(BLOCK_542213) + b"\x00", network=Network.MAINNET)


def test_header_hash_is_the_block_hash() -> None:
    assert header_hash(BLOCK_702349) == HASH_702349


@pytest.mark.parametrize("tx", TRANSACTIONS, ids=lambda t: t["label"])
def test_every_real_transaction_parses_with_its_txid(tx: dict[str, Any]) -> None:
    parsed = parse_transaction(bytes.fromhex(tx["hex"]), expected_txid=tx["txid"])

    assert parsed.txid == tx["txid"]
    assert not parsed.is_coinbase
    assert parsed.inputs
    assert all(len(outpoint.split(":")[0]) == 64 for outpoint in parsed.inputs)


def test_a_transaction_other_than_the_one_asked_for_is_refused() -> None:
    first, second = TRANSACTIONS[:2]

    with pytest.raises(NodeMisbehaving, match="when asked for"):
        parse_transaction(bytes.fromhex(first["hex"]), expected_txid=second["txid"])


def test_garbage_is_not_a_transaction() -> None:
    with pytest.raises(NodeMisbehaving, match="not a transaction"):
        parse_transaction(b"\x02\x00\x00")


def test_rbf_signalling_follows_bip125_sequence_numbers() -> None:
    # 33e794…: a P2TR key-path spend whose only input has nSequence 0xfffffffd.
    taproot = next(t for t in TRANSACTIONS if t["txid"].startswith("33e794"))
    legacy = next(t for t in TRANSACTIONS if t["txid"].startswith("aca326"))

    assert parse_transaction(bytes.fromhex(taproot["hex"])).signals_rbf
    assert not parse_transaction(bytes.fromhex(legacy["hex"])).signals_rbf
