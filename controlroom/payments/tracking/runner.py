"""Running the tracker outside the demo: configured nodes, their secrets, a loop.

The node list (see :mod:`controlroom.payments.nodes.build`) names each node;
the RPC passwords of Bitcoin Core nodes live apart from it, in a file only
its owner can read (``KEY=password`` lines, as ssh insists on for its keys)
or in ``CONTROLROOM_NODE_PASSWORD_<KEY>`` variables, so the list itself can
be shared and kept in version control.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.errors import ConfigurationError
from controlroom.payments.nodes.base import NodeConfig, PaymentNode
from controlroom.payments.nodes.build import build_node, parse_node_list
from controlroom.payments.rounds import RoundOutcome, run_rounds
from controlroom.payments.tracking.service import TrackReport, track_once

logger = logging.getLogger(__name__)

TRACKER_ACTOR = "payment-tracker"
PASSWORD_PREFIX = "CONTROLROOM_NODE_PASSWORD_"
_MAX_LIST_BYTES = 64 * 1024


def password_variable(key: str) -> str:
    """The environment variable that may hold node ``key``'s RPC password."""
    return PASSWORD_PREFIX + re.sub(r"[^A-Z0-9]", "_", key.upper())


def read_node_list(path: Path) -> list[NodeConfig]:
    """Read and check the node list file at ``path``."""
    try:
        if path.stat().st_size > _MAX_LIST_BYTES:
            raise ConfigurationError(
                f"{path} is larger than a node list can be (64 KB); check the "
                "--nodes argument.",
                setting="nodes",
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"There is no node list at {path}; give the path of a TOML or JSON "
            "file with a [[nodes]] entry per payment node.",
            setting="nodes",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"Cannot read the node list {path}: {exc}", setting="nodes"
        ) from None
    return parse_node_list(text)


def read_passwords(path: Path) -> dict[str, str]:
    """Read ``KEY=password`` lines from a file only its owner may read."""
    try:
        mode = path.stat().st_mode
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot read the node password file {path}: {exc.strerror}.",
            setting="passwords",
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{path} can be read by other users; run 'chmod 600 {path}' first. "
            "Node passwords must be readable only by the control room's user.",
            setting="passwords",
        )

    passwords: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, secret = text.partition("=")
        if not sep or not key.strip() or not secret:
            # Never echo the line: it may hold a password.
            raise ConfigurationError(
                f"Line {number} of {path} is not KEY=password.",
                setting="passwords",
            )
        passwords[key.strip()] = secret
    return passwords


def build_nodes(
    configs: Sequence[NodeConfig],
    *,
    passwords: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
) -> list[PaymentNode]:
    """Build an adapter per node, each Bitcoin Core node with its password."""
    env = os.environ if environ is None else environ
    nodes: list[PaymentNode] = []
    for config in configs:
        password = passwords.get(config.key) or env.get(password_variable(config.key))
        if config.kind == "core" and not password:
            raise ConfigurationError(
                f"Node {config.key!r} speaks Bitcoin Core RPC and needs a password: "
                f"put '{config.key}=…' in the password file or set "
                f"{password_variable(config.key)}.",
                setting="passwords",
            )
        nodes.append(build_node(config, password=password))
    return nodes


def run_tracker(
    engine: Engine,
    *,
    nodes: Sequence[PaymentNode],
    every_seconds: float,
    rounds: int | None = None,
    start_height: int | None = None,
    on_round: Callable[[RoundOutcome[TrackReport]], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Track payments every ``every_seconds`` until stopped; return rounds run.

    A round that fails is rolled back and reported; the next one starts
    again from the last fully processed block, so a failure loses nothing.
    """

    def one_round(session: Session, now: datetime) -> TrackReport:
        return track_once(
            session,
            nodes=nodes,
            now=now,
            actor=TRACKER_ACTOR,
            start_height=start_height,
        )

    return run_rounds(
        engine,
        step=one_round,
        every_seconds=every_seconds,
        rounds=rounds,
        on_round=on_round,
        sleep=sleep,
    )
