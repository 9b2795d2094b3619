"""The Patroni fail-over drill: kill the leader, time the first acknowledged order.

Run from the repository root, as root (PostgreSQL and Patroni run as the
``postgres`` user), with Patroni, etcd and PostgreSQL 15 installed
(``apt-get install -y patroni python3-etcd etcd-server``; this script
installs nothing)::

    .venv/bin/python benchmarks/patroni_drill.py [--orders 20]

For each scenario it starts, on 127.0.0.1 in a temporary folder, one etcd
and two Patroni nodes built from ``deploy/patroni`` (only ports and folders
changed), waits for a leader and a synchronous standby, and places orders
through the multi-host URL with the in-doubt writer
(``controlroom.availability.drill``). Then it kills the leader's Patroni
(SIGKILL) and its PostgreSQL (``pg_ctl stop -m immediate``) and keeps
placing orders, measuring kill → standby promoted (Patroni's REST API) and
kill → first acknowledged order. Every acknowledged key is then checked on
the new leader.

Scenarios:

* ``strict``: the shipped configuration (``synchronous_mode_strict``). The
  promoted node has no standby left, so writes wait; the killed node's
  Patroni is restarted as soon as the promotion is seen (as its service
  manager would), rewinds and rejoins, and writes resume.
* ``non-strict``: the same with ``synchronous_mode_strict: false``: the new
  leader acknowledges alone once promoted.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import yaml  # type: ignore[import-untyped]

from controlroom.availability.drill import DrillWriter, stored_keys
from controlroom.availability.in_doubt import RetryPolicy

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "patroni"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def spawn(argv: list[str], log: Any, env: dict[str, str]) -> subprocess.Popen[bytes]:
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
    name: str
    config: Path
    rest_port: int
    pg_port: int
    data: Path
    process: subprocess.Popen[bytes] | None = None

    def rest(self, path: str) -> int:
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.rest_port}{path}", timeout=0.5)
        except httpx.HTTPError:
            return 0
        return answer.status_code


@dataclass
class Lab:
    folder: Path
    nodes: list[Node]
    password: str
    env: dict[str, str]
    etcd: subprocess.Popen[bytes] | None = None
    logs: list[Any] = field(default_factory=list)

    def url(self, *nodes: Node) -> str:
        hosts = ",".join(f"127.0.0.1:{node.pg_port}" for node in nodes)
        return (
            f"postgresql+psycopg://postgres:{self.password}@{hosts}/postgres"
            "?target_session_attrs=read-write&connect_timeout=2"
        )

    def start(self, node: Node) -> None:
        log = (self.folder / f"{node.name}.log").open("ab")
        self.logs.append(log)
        node.process = spawn(["patroni", str(node.config)], log, self.env)


def write_configs(folder: Path, *, strict: bool) -> tuple[Path, list[Node], int]:
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

    nodes = []
    for name in ("node1", "node2"):
        config = yaml.safe_load((DEPLOY / f"{name}.yml").read_text())
        rest, pg = free_port(), free_port()
        data = folder / name
        config["restapi"].update(
            listen=f"127.0.0.1:{rest}", connect_address=f"127.0.0.1:{rest}"
        )
        config["etcd3"]["hosts"] = f"127.0.0.1:{client}"
        config["bootstrap"]["dcs"]["synchronous_mode_strict"] = strict
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
        nodes.append(Node(name, path, rest, pg, data))
    return etcd_config, nodes, client


@contextmanager
def patroni_lab(*, strict: bool) -> Iterator[Lab]:
    """etcd and two Patroni nodes on 127.0.0.1; everything removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="controlroom-patroni-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group="postgres")
    folder.chmod(0o700)
    etcd_config, nodes, _ = write_configs(folder, strict=strict)
    password = secrets.token_hex(16)
    env = {
        **os.environ,
        "PATRONI_SUPERUSER_PASSWORD": password,
        "PATRONI_REPLICATION_PASSWORD": secrets.token_hex(16),
        "PATRONI_REWIND_PASSWORD": secrets.token_hex(16),
    }
    lab = Lab(folder, nodes, password, env)
    try:
        etcd_log = (folder / "etcd.log").open("ab")
        lab.logs.append(etcd_log)
        lab.etcd = spawn(["etcd", "--config-file", str(etcd_config)], etcd_log, env)
        lab.start(nodes[0])
        wait_for(lambda: nodes[0].rest("/primary") == 200, 90, "node1 to lead", folder)
        lab.start(nodes[1])
        wait_for(lambda: nodes[1].rest("/sync") == 200, 90, "node2 to be sync", folder)
        yield lab
    finally:
        for node in nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.kill()
                node.process.wait()
            if node.data.exists():
                subprocess.run(
                    as_postgres(
                        [
                            str(PG_BIN / "pg_ctl"),
                            "-D",
                            str(node.data),
                            "-m",
                            "i",
                            "stop",
                        ]
                    ),
                    capture_output=True,
                    check=False,
                )
        if lab.etcd is not None:
            lab.etcd.terminate()
            lab.etcd.wait()
        for log in lab.logs:
            log.close()
        shutil.rmtree(folder, ignore_errors=True)


def wait_for(condition: Any, seconds: float, what: str, logs: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tails = "\n".join(
        f"--- {log.name}\n"
        + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        for log in sorted(logs.glob("*.log"))
    )
    raise SystemExit(f"gave up waiting for {what} after {seconds:.0f} s\n{tails}")


@dataclass
class DrillResult:
    scenario: str
    promoted_after: float | None
    rejoined_after: float | None
    first_ack_after: float | None
    acknowledged: int
    lost: int
    duplicates: int


class Watch(threading.Thread):
    """Polls Patroni's REST API every 0.1 s: promotion, then the rejoin.

    In the strict scenario it restarts the killed node's Patroni as soon as
    the standby is promoted, as a service manager would.
    """

    def __init__(self, lab: Lab, *, strict: bool, killed: float) -> None:
        super().__init__(daemon=True)
        self.lab, self.strict, self.killed = lab, strict, killed
        self.promoted: float | None = None
        self.rejoined: float | None = None
        self.stop = False

    def run(self) -> None:
        failed, standby = self.lab.nodes
        while not self.stop:
            if self.promoted is None and standby.rest("/primary") == 200:
                self.promoted = time.monotonic() - self.killed
                if self.strict:
                    self.lab.start(failed)
            if self.promoted and self.rejoined is None and failed.rest("/sync") == 200:
                self.rejoined = time.monotonic() - self.killed
            time.sleep(0.1)


def run_scenario(*, strict: bool, orders: int, limit: float) -> DrillResult:
    with patroni_lab(strict=strict) as lab:
        leader, standby = lab.nodes
        writer = DrillWriter(
            lab.url(leader, standby), timeout=0.5, policy=RetryPolicy(attempts=1)
        )
        writer.prepare()
        for n in range(orders):
            writer.place(f"before-{n}")

        killed = time.monotonic()
        assert leader.process is not None
        leader.process.send_signal(signal.SIGKILL)
        leader.process.wait()
        subprocess.run(
            as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(leader.data), "-m", "i", "stop"]
            ),
            capture_output=True,
            check=False,
        )

        watch = Watch(lab, strict=strict, killed=killed)
        watch.start()
        first_ack = None
        n = 0
        while time.monotonic() - killed < limit and (
            first_ack is None or len(writer.acknowledged) < 2 * orders
        ):
            writer.resubmit_in_doubt()
            if writer.place(f"after-{n}") and first_ack is None:
                first_ack = time.monotonic() - killed
            n += 1
            time.sleep(0.02)
        # The rejoined node shows as synchronous a moment after writes resume.
        while strict and watch.rejoined is None and time.monotonic() - killed < limit:
            time.sleep(0.1)
        watch.stop = True
        watch.join()
        writer.resubmit_in_doubt()
        writer.close()

        on_leader = stored_keys(lab.url(standby, leader))
        return DrillResult(
            scenario="strict" if strict else "non-strict",
            promoted_after=watch.promoted,
            rejoined_after=watch.rejoined,
            first_ack_after=first_ack,
            acknowledged=len(writer.acknowledged),
            lost=len(set(writer.acknowledged) - set(on_leader)),
            duplicates=len(on_leader) - len(set(on_leader)),
        )


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--limit", type=float, default=120.0)
    parser.add_argument(
        "--scenario", choices=["strict", "non-strict", "both"], default="both"
    )
    args = parser.parse_args()
    # Every in-doubt attempt logs a warning; the table says what matters.
    logging.basicConfig(level=logging.ERROR)

    missing = [tool for tool in ("patroni", "etcd") if shutil.which(tool) is None]
    if missing or not (PG_BIN / "initdb").exists():
        raise SystemExit(
            f"missing: {', '.join(missing) or 'PostgreSQL 15'}; install with "
            "apt-get install -y patroni python3-etcd etcd-server postgresql-15"
        )

    scenarios = {"strict": [True], "non-strict": [False], "both": [True, False]}
    results = [
        run_scenario(strict=strict, orders=args.orders, limit=args.limit)
        for strict in scenarios[args.scenario]
    ]

    print(
        "| scenario | kill → promoted | kill → old node rejoined | kill → first ack "
        "| acknowledged | lost | duplicates |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for result in results:
        print(
            f"| {result.scenario} | {seconds(result.promoted_after)} "
            f"| {seconds(result.rejoined_after)} | {seconds(result.first_ack_after)} "
            f"| {result.acknowledged} | {result.lost} | {result.duplicates} |"
        )


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        main()
