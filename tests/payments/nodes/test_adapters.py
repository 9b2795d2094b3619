"""Both adapters against both lab servers: real data, a followed chain, faults."""

from __future__ import annotations

import json

import pytest

from controlroom.errors import NodeMisbehaving, NodeUnavailable
from controlroom.payments.addresses import Network
from controlroom.payments.blocks import parse_block, parse_transaction
from controlroom.payments.lab.faults import Lie
from controlroom.payments.lab.regtest import LabChain
from tests.conftest import SHARED_DATA
from tests.payments.nodes.conftest import RPC_PASSWORD, LabNode

BLOCKS = json.loads((SHARED_DATA / "bitcoin" / "mainnet_blocks.json").read_text())[
    "blocks"
]
CUSTOMER = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


def test_real_mainnet_blocks_are_fetched_by_height_and_parse(
    mainnet_node: LabNode,
) -> None:
    node = mainnet_node.node

    for block in BLOCKS:
        block_hash = node.block_hash(block["height"])
        parsed = parse_block(
            node.raw_block(block_hash),
            network=Network.MAINNET,
            expected_hash=block["hash"],
        )
        assert [tx.txid for tx in parsed.transactions] == block["txids"]


def test_the_tip_is_the_full_block_702349(mainnet_node: LabNode) -> None:
    tip = mainnet_node.node.tip()

    assert tip.height == 702_349
    assert tip.block_hash.startswith("000000000000000000000c835b2a")
    assert tip.response_ms > 0


def test_mempool_transactions_come_back_byte_for_byte(mainnet_node: LabNode) -> None:
    node = mainnet_node.node

    txids = node.mempool_txids()

    assert len(txids) == 8
    assert [parse_transaction(node.raw_transaction(t)).txid for t in txids] == txids


def test_a_regtest_chain_is_followed_as_it_is_mined(
    regtest_node: LabNode, regtest_chain: LabChain
) -> None:
    node = regtest_node.node
    txid = regtest_chain.pay([(CUSTOMER, 120_000)], rbf=True)

    assert node.mempool_txids() == [txid]
    assert parse_transaction(node.raw_transaction(txid)).signals_rbf

    regtest_chain.mine(2)
    tip = node.tip()
    block = parse_block(
        node.raw_block(node.block_hash(11)),
        network=Network.REGTEST,
        expected_hash=regtest_chain.block_hash(11),
    )

    assert (tip.height, tip.block_hash) == (12, regtest_chain.tip_hash)
    assert txid in [tx.txid for tx in block.transactions]
    assert node.mempool_txids() == []


def test_a_node_that_is_down_is_unavailable(regtest_node: LabNode) -> None:
    regtest_node.server.faults.down = True

    with pytest.raises(NodeUnavailable, match=r"HTTP 503|error|JSON-RPC") as caught:
        regtest_node.node.tip()

    assert caught.value.node == regtest_node.node.config.key


def test_a_node_that_drops_connections_is_unavailable(regtest_node: LabNode) -> None:
    regtest_node.server.faults.down = True
    regtest_node.server.faults.drop_connection = True

    with pytest.raises(NodeUnavailable, match=r"connection|failed during"):
        regtest_node.node.tip()


def test_a_stopped_node_refuses_the_connection(regtest_node: LabNode) -> None:
    regtest_node.server.stop()

    with pytest.raises(NodeUnavailable, match="refused the connection"):
        regtest_node.node.block_hash(1)


def test_a_node_slower_than_the_timeout_is_unavailable(regtest_node: LabNode) -> None:
    regtest_node.server.faults.slow_seconds = 1.5

    with pytest.raises(NodeUnavailable, match=r"did not answer .* within 1 s"):
        regtest_node.node.block_hash(1)


def test_a_lagging_node_shows_the_chain_as_it_was(regtest_node: LabNode) -> None:
    regtest_node.server.faults.lag_height = 7

    tip = regtest_node.node.tip()

    assert tip.height == 7
    with pytest.raises(NodeUnavailable):
        regtest_node.node.block_hash(8)


def test_a_forked_node_gives_another_hash_at_a_height(
    regtest_node: LabNode, regtest_chain: LabChain
) -> None:
    fork = regtest_chain.fork(8)
    fork.mine(3)
    regtest_node.server.faults.fork = fork

    assert regtest_node.node.block_hash(8) == regtest_chain.block_hash(8)
    assert regtest_node.node.block_hash(9) != regtest_chain.block_hash(9)
    assert regtest_node.node.tip().height == 11


def test_a_node_lying_about_its_tip_is_misbehaving(regtest_node: LabNode) -> None:
    regtest_node.server.faults.lie = Lie.TIP_TOO_HIGH

    with pytest.raises(NodeMisbehaving, match="tip is at height 16"):
        regtest_node.node.tip()


def test_a_block_with_a_flipped_byte_fails_when_parsed(regtest_node: LabNode) -> None:
    regtest_node.server.faults.lie = Lie.FLIPPED_BYTE
    block_hash = regtest_node.node.block_hash(5)

    raw = regtest_node.node.raw_block(block_hash)

    with pytest.raises(NodeMisbehaving, match="merkle root does not match"):
        parse_block(raw, network=Network.REGTEST, expected_hash=block_hash, node="x")


def test_a_transaction_with_a_flipped_byte_is_refused(
    regtest_node: LabNode, regtest_chain: LabChain
) -> None:
    txid = regtest_chain.pay([(CUSTOMER, 5_000)])
    regtest_node.server.faults.lie = Lie.FLIPPED_BYTE

    with pytest.raises(NodeMisbehaving, match="when asked for"):
        regtest_node.node.raw_transaction(txid)


def test_a_wrong_hash_for_a_height_is_caught_by_the_block(
    regtest_node: LabNode, regtest_chain: LabChain
) -> None:
    regtest_node.server.faults.lie = Lie.WRONG_HASH

    lied = regtest_node.node.block_hash(5)

    assert lied != regtest_chain.block_hash(5)
    with pytest.raises(NodeMisbehaving, match=r"another block|when asked for"):
        regtest_node.node.raw_block(lied)


def test_a_node_recovers_once_the_fault_clears(regtest_node: LabNode) -> None:
    regtest_node.server.faults.down = True
    with pytest.raises(NodeUnavailable):
        regtest_node.node.tip()

    regtest_node.server.faults.clear()

    assert regtest_node.node.tip().height == 10


def test_no_error_message_carries_the_rpc_password(regtest_node: LabNode) -> None:
    regtest_node.server.faults.down = True

    with pytest.raises(NodeUnavailable) as caught:
        regtest_node.node.tip()

    assert RPC_PASSWORD not in str(caught.value)
    assert regtest_node.server.url.removeprefix("http://") in str(caught.value)
