"""Building adapters from configuration, and the node list's refusals."""

from __future__ import annotations

import pytest

from controlroom.errors import ConfigurationError
from controlroom.payments.addresses import Network
from controlroom.payments.nodes.base import NodeConfig
from controlroom.payments.nodes.build import build_node, parse_node_list
from controlroom.payments.nodes.core_rpc import CoreRpcNode
from controlroom.payments.nodes.esplora import EsploraNode

TOML_LIST = """
[[nodes]]
key = "core-eu"
url = "http://tracker@10.0.0.5:8332"
kind = "core"
region = "eu-west"
provider = "own"

[[nodes]]
key = "esplora-us"
url = "https://esplora.example/api"
kind = "esplora"
region = "us-east"
provider = "hosted"
network = "testnet"
timeout_seconds = 2.5
"""


def _config(kind: str, url: str) -> NodeConfig:
    return NodeConfig(key="n1", url=url, kind=kind, region="eu", provider="own")


def test_a_toml_node_list_names_each_node_with_its_region_and_provider() -> None:
    core, esplora = parse_node_list(TOML_LIST)

    assert (core.key, core.kind, core.region, core.provider) == (
        "core-eu",
        "core",
        "eu-west",
        "own",
    )
    assert core.network is Network.MAINNET
    assert esplora.network is Network.TESTNET
    assert esplora.timeout_seconds == 2.5


def test_a_json_node_list_reads_the_same() -> None:
    text = (
        '[{"key": "e1", "url": "https://esplora.example/api", "kind": "esplora",'
        ' "region": "ap", "provider": "hosted"}]'
    )

    (node,) = parse_node_list(text)

    assert (node.key, node.region) == ("e1", "ap")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            '{"url": "http://h:1", "kind": "core", "region": "r", "provider": "p"}',
            "entry 1 needs field 'key'",
        ),
        (
            '{"key": "a", "url": "http://h:1", "kind": "electrum", "region": "r",'
            ' "provider": "p"}',
            "entry 1 \\('a'\\) has kind 'electrum'",
        ),
        (
            '{"key": "a", "url": "ftp://h", "kind": "esplora", "region": "r",'
            ' "provider": "p"}',
            "URL of node entry 1 \\('a'\\) is not usable",
        ),
        (
            '{"key": "a", "url": "https://h", "kind": "core", "region": "r",'
            ' "provider": "p"}',
            "plain http",
        ),
        (
            '{"key": "a", "url": "http://u:pw@h:1", "kind": "core", "region": "r",'
            ' "provider": "p"}',
            "contains a password",
        ),
        (
            '{"key": "a", "url": "http://h:1", "kind": "core", "region": "r",'
            ' "provider": "p", "network": "dogecoin"}',
            "network 'dogecoin'",
        ),
        (
            '{"key": "a", "url": "http://h:1", "kind": "core", "region": "r",'
            ' "provider": "p", "timeout_seconds": 0}',
            "timeout_seconds",
        ),
        (
            '{"key": "a", "url": "http://h:1", "kind": "core", "region": "r",'
            ' "provider": "p", "pasword": "x"}',
            "unknown field 'pasword'",
        ),
        (
            '{"key": "a", "url": "http://h:1", "kind": "core", "region": "", '
            '"provider": "p"}',
            "needs field 'region'",
        ),
    ],
    ids=[
        "no-key",
        "kind",
        "scheme",
        "core-https",
        "password",
        "network",
        "timeout",
        "unknown",
        "empty-region",
    ],
)
def test_a_bad_entry_is_refused_naming_the_entry_and_field(
    entry: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_node_list(f"[{entry}]")


def test_a_key_used_twice_is_refused() -> None:
    entry = (
        '{"key": "a", "url": "http://h:1", "kind": "core", "region": "r",'
        ' "provider": "p"}'
    )

    with pytest.raises(ConfigurationError, match="entry 2 uses key 'a' again"):
        parse_node_list(f"[{entry}, {entry}]")


def test_text_in_neither_format_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="neither JSON nor TOML"):
        parse_node_list("nodes = [unclosed")


def test_build_node_returns_the_adapter_of_each_kind() -> None:
    assert isinstance(build_node(_config("core", "http://u@h:8332")), CoreRpcNode)
    assert isinstance(build_node(_config("esplora", "https://h/api")), EsploraNode)


def test_build_node_refuses_an_unknown_kind() -> None:
    with pytest.raises(ConfigurationError, match="kind 'lnd'"):
        build_node(_config("lnd", "http://h"))


def test_build_node_refuses_a_url_that_is_not_http() -> None:
    with pytest.raises(ConfigurationError, match="not usable"):
        build_node(_config("esplora", "file:///etc/passwd"))
