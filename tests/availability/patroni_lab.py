"""A Patroni cluster on 127.0.0.1: one etcd and two or three PostgreSQL nodes.

Built from the shipped configuration in ``deploy/patroni`` with only the
ports, folders and (for the two-node comparisons) the replication mode
changed. The servers run as the ``postgres`` user (PostgreSQL refuses
root) in one temporary folder, which is removed with every process in it
when the lab closes, also when a drill fails. Shared by the drill test
(``tests/availability/test_patroni_drill.py``) and the benchmark
(``benchmarks/patroni_drill.py``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import yaml  # type: ignore[import-untyped]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "patroni"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
NODE_NAMES = ("node1", "node2", "node3")


class LabError(RuntimeError):
    """The lab did not reach the state a drill needs; the logs' tails say why."""


def missing_tools() -> list[str]:
    """Name what the lab needs and this machine lacks (empty: all there)."""
    missing = [tool for tool in ("patroni", "etcd") if shutil.which(tool) is None]
    if not (PG_BIN / "initdb").exists():
        missing.append("PostgreSQL 15")
    return missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def spawn(
    argv: list[str], log: IO[bytes], env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start a server as postgres, directly: its pid is the server's own."""
    as_root = os.geteuid() == 0
    return subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        user="postgres" if as_root else None,
        group="postgres" if as_root else None,
        extra_groups=[] if as_root else None,
        cwd="/",
    )


@dataclass
class Node:
    """One Patroni node: its configuration, ports, data folder and process."""

    name: str
    config: Path
    rest_port: int
    pg_port: int
    data: Path
    process: subprocess.Popen[bytes] | None = None

    def rest(self, path: str) -> int:
        """Patroni's status code for ``path`` (``/primary``, ``/sync``); 0 if down."""
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.rest_port}{path}", timeout=0.5)
        except httpx.HTTPError:
            return 0
        return answer.status_code

    def stop_postgres(self) -> None:
        """Stop this node's PostgreSQL like a crash (``-m immediate``)."""
        subprocess.run(
            as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "i", "stop"]
            ),
            capture_output=True,
            check=False,
        )


@dataclass
class Lab:
    """The running cluster: etcd, the nodes, and the superuser's password."""

    folder: Path
    nodes: list[Node]
    password: str
    env: dict[str, str]
    etcd: subprocess.Popen[bytes] | None = None
    logs: list[IO[bytes]] = field(default_factory=list)

    def url(self, *nodes: Node, read_write: bool = True) -> str:
        """A URL naming ``nodes`` (all of them by default), in that order."""
        hosts = ",".join(f"127.0.0.1:{node.pg_port}" for node in nodes or self.nodes)
        rule = "target_session_attrs=read-write&" if read_write else ""
        return (
            f"postgresql+psycopg://postgres:{self.password}@{hosts}/postgres"
            f"?{rule}connect_timeout=2"
        )

    def start(self, node: Node) -> None:
        """Start the node's Patroni, as its service manager would."""
        log = (self.folder / f"{node.name}.log").open("ab")
        self.logs.append(log)
        node.process = spawn(["patroni", str(node.config)], log, self.env)

    def leader(self) -> Node:
        """The node whose Patroni says it is the primary."""
        for node in self.nodes:
            if node.rest("/primary") == 200:
                return node
        raise LabError("no node answers as the primary")

    def crash(self, node: Node) -> float:
        """Kill the node's Patroni and its PostgreSQL; return when (monotonic)."""
        killed = time.monotonic()
        if node.process is not None:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()
        node.stop_postgres()
        return killed

    def wait_for(
        self, condition: Callable[[], bool], seconds: float, what: str
    ) -> None:
        """Poll ``condition`` every 0.2 s; raise ``LabError`` with the logs if late."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        tails = "\n".join(
            f"--- {log.name}\n"
            + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            for log in sorted(self.folder.glob("*.log"))
        )
        raise LabError(f"gave up waiting for {what} after {seconds:.0f} s\n{tails}")


def write_configs(folder: Path, *, nodes: int, strict: bool) -> tuple[Path, list[Node]]:
    """Copy the shipped configuration with free ports and temporary folders."""
    client, peer = free_port(), free_port()
    etcd = yaml.safe_load((DEPLOY / "etcd.conf.yml").read_text())
    etcd.update(
        {
            "data-dir": str(folder / "etcd"),
            "listen-client-urls": f"http://127.0.0.1:{client}",
            "advertise-client-urls": f"http://127.0.0.1:{client}",
            "listen-peer-urls": f"http://127.0.0.1:{peer}",
            "initial-advertise-peer-urls": f"http://127.0.0.1:{peer}",
            "initial-cluster": f"{etcd['name']}=http://127.0.0.1:{peer}",
        }
    )
    etcd_config = folder / "etcd.conf.yml"
    etcd_config.write_text(yaml.safe_dump(etcd))

    members = []
    for name in NODE_NAMES[:nodes]:
        config = yaml.safe_load((DEPLOY / f"{name}.yml").read_text())
        rest, pg = free_port(), free_port()
        data = folder / name
        config["restapi"].update(
            listen=f"127.0.0.1:{rest}", connect_address=f"127.0.0.1:{rest}"
        )
        config["etcd3"]["hosts"] = f"127.0.0.1:{client}"
        config["bootstrap"]["dcs"]["synchronous_mode_strict"] = strict
        # The lab has no backup store; the drill is about fail-over, and an
        # archive_command failing every few seconds would only fill the logs.
        config["bootstrap"]["dcs"]["postgresql"]["parameters"]["archive_command"] = (
            "/bin/true"
        )
        config["postgresql"].update(
            listen=f"127.0.0.1:{pg}",
            connect_address=f"127.0.0.1:{pg}",
            data_dir=str(data),
            bin_dir=str(PG_BIN),
            pgpass=str(folder / f"{name}.pgpass"),
        )
        config["postgresql"]["parameters"]["unix_socket_directories"] = str(folder)
        path = folder / f"{name}.yml"
        path.write_text(yaml.safe_dump(config))
        members.append(Node(name, path, rest, pg, data))
    return etcd_config, members


@contextmanager
def patroni_lab(*, nodes: int, strict: bool) -> Iterator[Lab]:
    """etcd and ``nodes`` Patroni nodes on 127.0.0.1; everything removed afterwards.

    Yields once node1 leads, one standby is synchronous and every other
    standby streams.
    """
    if nodes not in (2, 3):
        raise ValueError("the lab runs two or three Patroni nodes")
    folder = Path(tempfile.mkdtemp(prefix="controlroom-patroni-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group="postgres")
    folder.chmod(0o700)
    etcd_config, members = write_configs(folder, nodes=nodes, strict=strict)
    env = {
        **os.environ,
        "PATRONI_SUPERUSER_PASSWORD": secrets.token_hex(16),
        "PATRONI_REPLICATION_PASSWORD": secrets.token_hex(16),
        "PATRONI_REWIND_PASSWORD": secrets.token_hex(16),
    }
    lab = Lab(folder, members, env["PATRONI_SUPERUSER_PASSWORD"], env)
    try:
        etcd_log = (folder / "etcd.log").open("ab")
        lab.logs.append(etcd_log)
        lab.etcd = spawn(["etcd", "--config-file", str(etcd_config)], etcd_log, env)
        first, *standbys = members
        lab.start(first)
        lab.wait_for(lambda: first.rest("/primary") == 200, 90, "node1 to lead")
        for standby in standbys:  # cloned side by side with pg_basebackup
            lab.start(standby)
        lab.wait_for(lambda: _replicating(standbys), 90, "the standbys to stream")
        yield lab
    finally:
        _tear_down(lab)


def _replicating(standbys: list[Node]) -> bool:
    if not any(node.rest("/sync") == 200 for node in standbys):
        return False
    return all(node.rest("/replica") == 200 for node in standbys)


def _tear_down(lab: Lab) -> None:
    for node in lab.nodes:
        if node.process is not None and node.process.poll() is None:
            node.process.kill()
            node.process.wait()
        if node.data.exists():
            node.stop_postgres()
    if lab.etcd is not None:
        lab.etcd.terminate()
        lab.etcd.wait()
    for log in lab.logs:
        log.close()
    shutil.rmtree(lab.folder, ignore_errors=True)
