"""Payment nodes from configuration: the node list, and an adapter per node.

A node list is TOML or JSON text naming each node's key, URL, kind
(``core`` or ``esplora``), region and provider, and optionally its network
and timeout::

    [[nodes]]
    key = "core-eu"
    url = "http://tracker@10.0.0.5:8332"
    kind = "core"
    region = "eu-west"
    provider = "own"

RPC passwords never go in the list: they come from an owner-only password
file or the environment (:mod:`controlroom.payments.tracking.runner`) and
are handed to :func:`build_node` separately.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any
from urllib.parse import urlsplit

from controlroom.errors import ConfigurationError
from controlroom.payments.addresses import Network
from controlroom.payments.nodes.base import NodeConfig, PaymentNode
from controlroom.payments.nodes.core_rpc import CoreRpcNode
from controlroom.payments.nodes.esplora import EsploraNode

NODE_KINDS = ("core", "esplora")
_REQUIRED = ("key", "url", "kind", "region", "provider")
_OPTIONAL = ("network", "timeout_seconds")


def build_node(config: NodeConfig, *, password: str | None = None) -> PaymentNode:
    """Return the adapter for one configured node; nothing connects yet.

    Raises
    ------
    ConfigurationError
        The kind is unknown, or the URL is not one the adapter can use.
    """
    _check_url(config.url, kind=config.kind, entry=f"node {config.key!r}")
    if config.kind == "core":
        return CoreRpcNode(config, password=password)
    if config.kind == "esplora":
        return EsploraNode(config)
    raise ConfigurationError(
        f"Node {config.key!r} has kind {config.kind!r}; the control room speaks "
        f"{' and '.join(NODE_KINDS)}.",
        setting="kind",
    )


def parse_node_list(text: str) -> list[NodeConfig]:
    """Read a node list in TOML or JSON; refuse any entry with a bad field.

    The JSON form is a list of objects or ``{"nodes": [...]}``; the TOML
    form is a ``[[nodes]]`` array of tables.

    Raises
    ------
    ConfigurationError
        The text is neither format, or an entry lacks a field, has an
        unknown or ill-typed one, an unusable URL, or a key used twice.
    """
    entries = _entries(_load(text))
    nodes: list[NodeConfig] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        node = _node(entry, position)
        if node.key in seen:
            raise ConfigurationError(
                f"Node entry {position} uses key {node.key!r} again; each node "
                "needs its own key.",
                setting="key",
            )
        seen.add(node.key)
        nodes.append(node)
    if not nodes:
        raise ConfigurationError("The node list names no node.", setting="nodes")
    return nodes


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass  # not JSON: try TOML, and report TOML's complaint if both fail
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(
            f"The node list is neither JSON nor TOML ({error}).", setting="nodes"
        ) from error


def _entries(loaded: Any) -> list[Any]:
    if isinstance(loaded, dict):
        loaded = loaded.get("nodes")
    if not isinstance(loaded, list):
        raise ConfigurationError(
            "The node list must be a list of nodes (JSON) or [[nodes]] tables (TOML).",
            setting="nodes",
        )
    return loaded


def _node(entry: Any, position: int) -> NodeConfig:
    if not isinstance(entry, dict):
        raise ConfigurationError(
            f"Node entry {position} is not a table of fields.", setting="nodes"
        )
    name = f"node entry {position}"
    if isinstance(entry.get("key"), str) and entry["key"]:
        name = f"node entry {position} ({entry['key']!r})"

    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ConfigurationError(
            f"{_sentence(name)} has unknown field {unknown[0]!r}; the fields "
            f"are {', '.join(_REQUIRED + _OPTIONAL)}.",
            setting=unknown[0],
        )
    for field in _REQUIRED:
        value = entry.get(field)
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(
                f"{_sentence(name)} needs field {field!r} as non-empty text.",
                setting=field,
            )
    if entry["kind"] not in NODE_KINDS:
        raise ConfigurationError(
            f"{_sentence(name)} has kind {entry['kind']!r}; use one of "
            f"{', '.join(NODE_KINDS)}.",
            setting="kind",
        )
    _check_url(entry["url"], kind=entry["kind"], entry=name)

    return NodeConfig(
        key=entry["key"].strip(),
        url=entry["url"].strip(),
        kind=entry["kind"],
        region=entry["region"].strip(),
        provider=entry["provider"].strip(),
        network=_network(entry.get("network", Network.MAINNET.value), name),
        timeout_seconds=_timeout(entry.get("timeout_seconds", 5.0), name),
    )


def _check_url(url: str, *, kind: str, entry: str) -> None:
    parts = urlsplit(url.strip())
    allowed = ("http",) if kind == "core" else ("http", "https")
    if parts.scheme not in allowed or not parts.hostname:
        hint = (
            "Core's RPC client speaks plain http://host:port (tunnel it for "
            "other hosts)"
            if kind == "core"
            else "use http:// or https:// with a host"
        )
        raise ConfigurationError(
            f"The URL of {entry} is not usable: {hint}.", setting="url"
        )
    if parts.password is not None:
        raise ConfigurationError(
            f"The URL of {entry} contains a password; keep it in the password "
            "file (--passwords) or CONTROLROOM_NODE_PASSWORD_<KEY>, not in the "
            "node list.",
            setting="url",
        )
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError as error:
        raise ConfigurationError(
            f"The URL of {entry} has a port that is not a number.", setting="url"
        ) from error


def _network(value: Any, name: str) -> Network:
    try:
        return Network(value)
    except ValueError:
        raise ConfigurationError(
            f"{_sentence(name)} has network {value!r}; use one of "
            f"{', '.join(n.value for n in Network)}.",
            setting="network",
        ) from None


def _timeout(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(
            f"{_sentence(name)} needs timeout_seconds as a number of seconds above 0.",
            setting="timeout_seconds",
        )
    return float(value)


def _sentence(name: str) -> str:
    return name[:1].upper() + name[1:]
