"""The Core adapter: credentials, reconnection, Core's error replies."""

from __future__ import annotations

import pytest

from controlroom.errors import ConfigurationError, NodeUnavailable
from controlroom.payments.addresses import Network
from controlroom.payments.lab.core_server import CoreRpcServer
from controlroom.payments.lab.regtest import LabChain
from controlroom.payments.nodes.base import NodeConfig
from controlroom.payments.nodes.core_rpc import CoreRpcNode
from tests.payments.nodes.conftest import TIMEOUT_SECONDS


def _node(server: CoreRpcServer, *, password: str) -> CoreRpcNode:
    config = NodeConfig(
        key="core-eu",
        url=server.url.replace("http://", "http://tracker@"),
        kind="core",
        region="eu-west",
        provider="own",
        network=Network.REGTEST,
        timeout_seconds=TIMEOUT_SECONDS,
    )
    return CoreRpcNode(config, password=password)


def test_the_client_recovers_after_the_node_drops_and_comes_back(
    regtest_chain: LabChain,
) -> None:
    server = CoreRpcServer(regtest_chain, user="tracker", password="s3cret").start()
    node = _node(server, password="s3cret")
    assert node.tip().height == 10

    server.stop()
    with pytest.raises(NodeUnavailable, match="refused the connection"):
        node.tip()
    regtest_chain.mine()
    server.start()

    assert node.tip().height == 11
    server.stop()


def test_a_connection_cut_between_calls_is_reopened_without_an_error(
    regtest_chain: LabChain,
) -> None:
    server = CoreRpcServer(regtest_chain, user="tracker", password="s3cret").start()
    node = _node(server, password="s3cret")
    node.tip()

    server.stop()  # cuts the kept-alive connection
    server.start()

    assert node.block_hash(3) == regtest_chain.block_hash(3)
    server.stop()


def test_wrong_credentials_are_named_without_the_password(
    regtest_chain: LabChain,
) -> None:
    with CoreRpcServer(regtest_chain, user="tracker", password="right") as server:
        node = _node(server, password="wrong-pass")

        with pytest.raises(
            NodeUnavailable, match="refused our RPC credentials"
        ) as caught:
            node.tip()

    assert "wrong-pass" not in str(caught.value)


def test_an_unknown_height_is_core_error_minus_8(regtest_chain: LabChain) -> None:
    with CoreRpcServer(regtest_chain, user="tracker", password="p") as server:
        node = _node(server, password="p")

        with pytest.raises(
            NodeUnavailable, match="error -8: Block height out of range"
        ):
            node.block_hash(99)


def test_an_unknown_block_is_core_error_minus_5(regtest_chain: LabChain) -> None:
    with CoreRpcServer(regtest_chain, user="tracker", password="p") as server:
        node = _node(server, password="p")

        with pytest.raises(NodeUnavailable, match="error -5: Block not found"):
            node.raw_block("11" * 32)


def test_a_node_warming_up_says_to_try_again(regtest_chain: LabChain) -> None:
    with CoreRpcServer(regtest_chain, user="tracker", password="p") as server:
        server.faults.warming_up = True
        node = _node(server, password="p")

        with pytest.raises(NodeUnavailable, match="still starting up"):
            node.tip()


def test_a_password_the_client_cannot_send_is_refused_up_front() -> None:
    config = NodeConfig(
        key="core-eu",
        url="http://tracker@127.0.0.1:8332",
        kind="core",
        region="eu",
        provider="own",
    )

    with pytest.raises(ConfigurationError, match="cannot send") as caught:
        CoreRpcNode(config, password="a/b")

    assert "a/b" not in str(caught.value)
