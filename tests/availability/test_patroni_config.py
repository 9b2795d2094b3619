"""The shipped Patroni configuration keeps the promises the runbook makes."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

PATRONI = Path(__file__).resolve().parents[2] / "deploy" / "patroni"
NODES = ("node1.yml", "node2.yml", "node3.yml")


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PATRONI / name).read_text())
    return loaded


def test_three_postgresql_nodes_are_shipped() -> None:
    shipped = sorted(path.name for path in PATRONI.glob("node*.yml"))

    assert tuple(shipped) == NODES


@pytest.mark.parametrize("name", NODES)
def test_each_node_replicates_synchronously_and_strictly(name: str) -> None:
    dcs = load(name)["bootstrap"]["dcs"]

    assert dcs["synchronous_mode"] is True
    assert dcs["synchronous_mode_strict"] is True
    # One synchronous standby of two: after one loss a standby remains.
    assert dcs["synchronous_node_count"] == 1
    assert dcs["postgresql"]["use_pg_rewind"] is True
    assert dcs["postgresql"]["parameters"]["wal_log_hints"] == "on"


@pytest.mark.parametrize("name", NODES)
def test_each_node_has_timings_patroni_accepts(name: str) -> None:
    dcs = load(name)["bootstrap"]["dcs"]

    assert dcs["ttl"] == 20
    # Patroni's rule: loop_wait + 2 * retry_timeout <= ttl.
    assert dcs["loop_wait"] + 2 * dcs["retry_timeout"] <= dcs["ttl"]


def test_the_nodes_share_a_scope_and_differ_in_name_ports_and_data() -> None:
    nodes = [load(name) for name in NODES]

    assert len({node["scope"] for node in nodes}) == 1
    assert all(node["bootstrap"] == nodes[0]["bootstrap"] for node in nodes)
    for path in (
        ("name",),
        ("restapi", "listen"),
        ("postgresql", "listen"),
        ("postgresql", "data_dir"),
    ):
        values = [_at(node, path) for node in nodes]
        assert len(set(values)) == len(NODES), path


@pytest.mark.parametrize("name", NODES)
def test_a_standby_retries_its_source_within_a_second(name: str) -> None:
    parameters = load(name)["bootstrap"]["dcs"]["postgresql"]["parameters"]

    # PostgreSQL's 5 s default held writes 5 s past the promotion.
    assert parameters["wal_retrieve_retry_interval"] == "1s"


@pytest.mark.parametrize("name", NODES)
def test_the_primary_archives_its_wal_to_the_write_once_store(name: str) -> None:
    parameters = load(name)["bootstrap"]["dcs"]["postgresql"]["parameters"]
    command = shlex.split(parameters["archive_command"])

    assert parameters["archive_mode"] == "on"
    assert command[:3] == ["controlroom", "backup", "wal-push"]
    assert command[-2:] == ["%p", "%f"]
    assert command[command.index("--store") + 1].startswith("s3://")
    assert 0 < parameters["archive_timeout"] <= 300


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
