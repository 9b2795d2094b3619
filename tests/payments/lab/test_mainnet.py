"""The mainnet archive serves the shared folder's real blocks and transactions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controlroom.errors import ConfigurationError, NodeUnavailable
from controlroom.payments.blocks import parse_transaction
from controlroom.payments.lab.mainnet import MainnetArchive
from tests.conftest import SHARED_DATA

BLOCKS = json.loads((SHARED_DATA / "bitcoin" / "mainnet_blocks.json").read_text())[
    "blocks"
]


@pytest.fixture(scope="module")
def archive() -> MainnetArchive:
    return MainnetArchive(SHARED_DATA)


def test_the_archive_holds_every_listed_block_and_block_702349(
    archive: MainnetArchive,
) -> None:
    assert archive.heights == sorted([b["height"] for b in BLOCKS] + [702_349])
    assert archive.height == 702_349
    for block in BLOCKS:
        assert archive.block_hash(block["height"]) == block["hash"]
        assert archive.raw_block(block["hash"]).hex() == block["hex"]
        assert list(archive.block_txids(block["hash"])) == block["txids"]


def test_transactions_of_blocks_are_found_with_their_block(
    archive: MainnetArchive,
) -> None:
    block = BLOCKS[-1]
    txid = block["txids"][1]

    assert parse_transaction(archive.raw_transaction(txid)).txid == txid
    assert archive.transaction_block(txid) == block["hash"]


def test_the_standalone_transactions_are_its_mempool(archive: MainnetArchive) -> None:
    mempool = archive.mempool_txids()

    assert len(mempool) == 8
    assert all(archive.transaction_block(txid) is None for txid in mempool)


def test_a_height_it_does_not_hold_is_not_found(archive: MainnetArchive) -> None:
    with pytest.raises(NodeUnavailable, match="no block at height 1"):
        archive.block_hash(1)


def test_a_folder_without_the_data_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="No mainnet_blocks"):
        MainnetArchive(tmp_path)
