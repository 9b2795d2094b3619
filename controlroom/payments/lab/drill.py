"""Lab payment nodes for a drill: three servers, one chain, scheduled faults.

``controlroom lab nodes`` runs this: the demo's three payment nodes (two
Bitcoin Core JSON-RPC, one Esplora) on 127.0.0.1, a regtest chain that
mines a block every few seconds, and faults switched on and off on a
schedule (``node-eu-north:down:60:120`` takes that node down from the
60th to the 120th second). It writes a node list and an owner-only
password file, so ``controlroom payments track`` follows the lab nodes
exactly as it follows real ones.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from controlroom.errors import ConfigurationError
from controlroom.payments.lab.core_server import CoreRpcServer
from controlroom.payments.lab.esplora_server import EsploraServer
from controlroom.payments.lab.regtest import LabChain
from controlroom.payments.lab.serving import LabServer

# key, kind, region, provider: the demo's payment-node components; the
# simulator's LabNodeSet serves the same three.
DRILL_NODES: tuple[tuple[str, str, str, str], ...] = (
    ("node-eu-north", "core", "eu-north", "Hetzner"),
    ("node-us-east", "core", "us-east", "AWS"),
    ("node-ap-southeast", "esplora", "ap-southeast", "OVHcloud"),
)
RPC_USER = "tracker"
FAULT_KINDS = ("down", "lag", "slow")


@dataclass(frozen=True)
class ScheduledFault:
    """A fault on one node between two moments of the drill (in seconds)."""

    node: str
    kind: str
    start: float
    end: float

    def active(self, elapsed: float) -> bool:
        """Whether the fault is on ``elapsed`` seconds into the drill."""
        return self.start <= elapsed < self.end


def parse_fault(text: str) -> ScheduledFault:
    """Read ``NODE:KIND:FROM:UNTIL`` (seconds), refusing anything else."""
    parts = text.strip().split(":")
    known = ", ".join(key for key, *_ in DRILL_NODES)
    if len(parts) != 4:
        raise ConfigurationError(
            f"A fault is NODE:KIND:FROM:UNTIL, e.g. node-eu-north:down:60:120, "
            f"not {text!r}.",
            setting="fault",
        )
    node, kind, start, end = parts
    if node not in {key for key, *_ in DRILL_NODES}:
        raise ConfigurationError(
            f"There is no lab node {node!r}; the nodes are {known}.", setting="fault"
        )
    if kind not in FAULT_KINDS:
        raise ConfigurationError(
            f"A lab node can be {', '.join(FAULT_KINDS)}, not {kind!r}.",
            setting="fault",
        )
    try:
        begin, finish = float(start), float(end)
    except ValueError:
        raise ConfigurationError(
            f"FROM and UNTIL are seconds into the drill, not {start!r} and {end!r}.",
            setting="fault",
        ) from None
    if not 0 <= begin < finish:
        raise ConfigurationError(
            f"The fault on {node} must start before it ends ({start} < {end}).",
            setting="fault",
        )
    return ScheduledFault(node, kind, begin, finish)


class DrillNodes:
    """The drill's servers on one lab chain, with faults applied on request."""

    def __init__(self, faults: Sequence[ScheduledFault] = ()) -> None:
        self.chain = LabChain(name="drill")
        self.faults = tuple(faults)
        self.password = secrets.token_urlsafe(18)
        self.servers: dict[str, LabServer] = {}

    def start(self) -> DrillNodes:
        """Start every server on 127.0.0.1 on a port the system picks."""
        for key, kind, _region, _provider in DRILL_NODES:
            if kind == "core":
                server: LabServer = CoreRpcServer(
                    self.chain, user=RPC_USER, password=self.password
                )
            else:
                server = EsploraServer(self.chain)
            self.servers[key] = server.start()
        return self

    def stop(self) -> None:
        """Stop every server."""
        for server in self.servers.values():
            server.stop()

    def apply_faults(self, elapsed: float) -> list[str]:
        """Switch each node's faults to what the schedule says; name active ones."""
        active = []
        for key, server in self.servers.items():
            server.faults.clear()
            for fault in self.faults:
                if fault.node != key or not fault.active(elapsed):
                    continue
                active.append(f"{key} {fault.kind}")
                if fault.kind == "down":
                    server.faults.down = True
                elif fault.kind == "lag":
                    server.faults.lag_height = max(0, self.chain.height - 3)
                else:
                    server.faults.slow_seconds = 3.0
        return active

    def node_list(self) -> str:
        """The TOML node list for ``controlroom payments track --nodes``."""
        entries = []
        for key, kind, region, provider in DRILL_NODES:
            url = self.servers[key].url
            if kind == "core":
                url = url.replace("http://", f"http://{RPC_USER}@")
            entries.append(
                "[[nodes]]\n"
                f'key = "{key}"\nurl = "{url}"\nkind = "{kind}"\n'
                f'region = "{region}"\nprovider = "{provider}"\n'
                'network = "regtest"\ntimeout_seconds = 2.0\n'
            )
        return "\n".join(entries)

    def write_files(self, nodes_file: Path) -> Path:
        """Write the node list and, beside it, the owner-only password file."""
        nodes_file.write_text(self.node_list(), encoding="utf-8")
        secrets_file = nodes_file.with_suffix(".passwords")
        secrets_file.touch(mode=0o600, exist_ok=True)
        secrets_file.chmod(0o600)
        lines = [
            f"{key}={self.password}" for key, kind, *_ in DRILL_NODES if kind == "core"
        ]
        secrets_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return secrets_file
