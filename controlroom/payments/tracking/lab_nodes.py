"""The demo's three payment nodes as lab servers on 127.0.0.1, for drills.

Two Bitcoin Core JSON-RPC nodes and one Esplora node, in the regions and
with the providers of the demo's payment-node components, all serving one
lab chain (a regtest ``LabChain`` or the mainnet archive). Each server's
``faults`` can be switched while it runs, so a drill or a test makes a node
lag, go down, fork or lie, and the tracker meets it through the real
adapters, over HTTP.
"""

from __future__ import annotations

import secrets
from types import TracebackType

from controlroom.payments.addresses import Network
from controlroom.payments.lab.core_server import CoreRpcServer
from controlroom.payments.lab.drill import DRILL_NODES, RPC_USER
from controlroom.payments.lab.esplora_server import EsploraServer
from controlroom.payments.lab.faults import ChainSource
from controlroom.payments.lab.serving import LabServer
from controlroom.payments.nodes.base import NodeConfig, PaymentNode
from controlroom.payments.nodes.build import build_node

# The demo's payment-node components (controlroom.demo.world.COMPONENTS),
# so checks land on them; the drill's command runs the same three.
DEMO_NODES = DRILL_NODES


class LabNodeSet:
    """Lab servers for ``DEMO_NODES`` on one chain, and adapters aimed at them.

    Parameters
    ----------
    chain
        What every server serves; a server's ``faults.fork`` shows another.
    network
        The chain's network, for the adapters' configuration.
    timeout_seconds
        The adapters' timeout: short in tests, so a slow node fails fast.
    """

    def __init__(
        self,
        chain: ChainSource,
        *,
        network: Network = Network.REGTEST,
        timeout_seconds: float = 2.0,
    ) -> None:
        self.chain = chain
        self.network = network
        self.timeout_seconds = timeout_seconds
        # A fresh RPC password per set: the servers exist only in this process.
        self._password = secrets.token_urlsafe(16)
        self.servers: dict[str, LabServer] = {}
        self.nodes: list[PaymentNode] = []

    def start(self) -> LabNodeSet:
        """Start every server and build its adapter; nothing is asked yet."""
        for key, kind, region, provider in DEMO_NODES:
            if kind == "core":
                server: LabServer = CoreRpcServer(
                    self.chain, user=RPC_USER, password=self._password
                ).start()
                url = server.url.replace("http://", f"http://{RPC_USER}@")
            else:
                server = EsploraServer(self.chain).start()
                url = server.url
            self.servers[key] = server
            config = NodeConfig(
                key=key,
                url=url,
                kind=kind,
                region=region,
                provider=provider,
                network=self.network,
                timeout_seconds=self.timeout_seconds,
            )
            self.nodes.append(build_node(config, password=self._password))
        return self

    def close(self) -> None:
        """Close the adapters and stop the servers."""
        for node in self.nodes:
            node.close()
        for server in self.servers.values():
            server.stop()
        self.nodes = []
        self.servers = {}

    def __enter__(self) -> LabNodeSet:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
