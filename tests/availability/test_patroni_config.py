"""The shipped Patroni configuration keeps the promises the runbook makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

PATRONI = Path(__file__).resolve().parents[2] / "deploy" / "patroni"
NODES = ("node1.yml", "node2.yml")


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PATRONI / name).read_text())
    return loaded


@pytest.mark.parametrize("name", NODES)
def test_each_node_replicates_synchronously_and_strictly(name: str) -> None:
    dcs = load(name)["bootstrap"]["dcs"]

    assert dcs["synchronous_mode"] is True
    assert dcs["synchronous_mode_strict"] is True
    assert dcs["postgresql"]["use_pg_rewind"] is True
    assert dcs["postgresql"]["parameters"]["wal_log_hints"] == "on"


@pytest.mark.parametrize("name", NODES)
def test_each_node_has_timings_patroni_accepts(name: str) -> None:
    dcs = load(name)["bootstrap"]["dcs"]

    assert dcs["ttl"] == 20
    # Patroni's rule: loop_wait + 2 * retry_timeout <= ttl.
    assert dcs["loop_wait"] + 2 * dcs["retry_timeout"] <= dcs["ttl"]


def test_the_nodes_share_a_scope_and_differ_in_name_ports_and_data() -> None:
    first, second = (load(name) for name in NODES)

    assert first["scope"] == second["scope"]
    assert first["bootstrap"] == second["bootstrap"]
    for path in (("name",), ("restapi", "listen"), ("postgresql", "listen")):
        values = [_at(node, path) for node in (first, second)]
        assert values[0] != values[1], path
    assert first["postgresql"]["data_dir"] != second["postgresql"]["data_dir"]


@pytest.mark.parametrize("name", NODES)
def test_every_address_is_loopback_and_no_password_is_stored(name: str) -> None:
    text = (PATRONI / name).read_text()
    node = load(name)

    for path in (
        ("restapi", "listen"),
        ("restapi", "connect_address"),
        ("postgresql", "listen"),
        ("postgresql", "connect_address"),
        ("etcd3", "hosts"),
    ):
        assert str(_at(node, path)).startswith("127.0.0.1:"), path
    assert "password:" not in text


def _at(node: dict[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        node = node[part]
    return node
