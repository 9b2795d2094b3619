"""Lab node servers and the adapters pointed at them, for both protocols."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from controlroom.payments.addresses import Network
from controlroom.payments.lab.core_server import CoreRpcServer
from controlroom.payments.lab.esplora_server import EsploraServer
from controlroom.payments.lab.faults import ChainSource
from controlroom.payments.lab.mainnet import MainnetArchive
from controlroom.payments.lab.regtest import LabChain
from controlroom.payments.lab.serving import LabServer
from controlroom.payments.nodes.base import NodeConfig, PaymentNode
from controlroom.payments.nodes.build import build_node
from tests.conftest import SHARED_DATA

# Short enough that a "slow" node fails fast, long enough for a loaded CI box.
TIMEOUT_SECONDS = 1.0
# The archive answers with whole mainnet blocks (block 702,349 is 1.4 MB and
# its JSON is built per request); on a busy CI machine that can take longer
# than the fault tests' short timeout, which these tests do not exercise.
MAINNET_TIMEOUT_SECONDS = 15.0
RPC_PASSWORD = "correct horse battery staple"


@dataclass
class LabNode:
    """A lab server and the adapter that talks to it."""

    server: LabServer
    node: PaymentNode


def serve(
    kind: str,
    chain: ChainSource,
    network: Network,
    timeout_seconds: float = TIMEOUT_SECONDS,
) -> LabNode:
    """Start a lab server of ``kind`` for ``chain`` and build its adapter."""
    if kind == "core":
        server: LabServer = CoreRpcServer(chain, user="tracker", password=RPC_PASSWORD)
        server.start()
        url = server.url.replace("http://", "http://tracker@")
    else:
        server = EsploraServer(chain).start()
        url = server.url
    config = NodeConfig(
        key=f"{kind}-lab",
        url=url,
        kind=kind,
        region="eu-west",
        provider="lab",
        network=network,
        timeout_seconds=timeout_seconds,
    )
    return LabNode(server, build_node(config, password=RPC_PASSWORD))


@pytest.fixture(scope="session")
def mainnet_archive() -> MainnetArchive:
    """The real mainnet blocks and transactions of the shared folder."""
    return MainnetArchive(SHARED_DATA)


@pytest.fixture
def regtest_chain() -> LabChain:
    """A regtest chain with ten blocks mined."""
    chain = LabChain()
    chain.mine(10)
    return chain


@pytest.fixture(params=["core", "esplora"])
def regtest_node(
    request: pytest.FixtureRequest, regtest_chain: LabChain
) -> Iterator[LabNode]:
    """Each protocol's lab server on the regtest chain, with its adapter."""
    lab = serve(request.param, regtest_chain, Network.REGTEST)
    yield lab
    lab.node.close()
    lab.server.stop()


@pytest.fixture(params=["core", "esplora"])
def mainnet_node(
    request: pytest.FixtureRequest, mainnet_archive: MainnetArchive
) -> Iterator[LabNode]:
    """Each protocol's lab server on the mainnet archive, with its adapter."""
    lab = serve(
        request.param, mainnet_archive, Network.MAINNET, MAINNET_TIMEOUT_SECONDS
    )
    yield lab
    lab.node.close()
    lab.server.stop()
