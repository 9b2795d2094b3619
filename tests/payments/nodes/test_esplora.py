"""The Esplora adapter: redirects, oversized answers, malformed replies."""

from __future__ import annotations

import httpx
import pytest

from controlroom.errors import NodeMisbehaving, NodeUnavailable
from controlroom.payments.nodes.base import NodeConfig
from controlroom.payments.nodes.esplora import MAX_ANSWER_BYTES, EsploraNode

CONFIG = NodeConfig(
    key="esplora-us",
    url="http://esplora.lab/api",
    kind="esplora",
    region="us-east",
    provider="lab",
)


def _node(answer: httpx.Response) -> EsploraNode:
    return EsploraNode(CONFIG, transport=httpx.MockTransport(lambda _: answer))


def test_a_redirect_is_not_followed() -> None:
    node = _node(httpx.Response(302, headers={"Location": "http://elsewhere/"}))

    with pytest.raises(NodeUnavailable, match="redirects are not followed"):
        node.block_hash(1)


def test_an_answer_above_the_size_limit_is_refused() -> None:
    node = _node(httpx.Response(200, content=b"[" + b" " * MAX_ANSWER_BYTES + b"]"))

    with pytest.raises(NodeMisbehaving, match="more than"):
        node.block_hash(1)


def test_a_height_that_is_not_a_number_is_misbehaving() -> None:
    node = _node(httpx.Response(200, text="<html>maintenance</html>"))

    with pytest.raises(NodeMisbehaving, match="no whole number"):
        node.tip()


def test_a_hash_that_is_not_a_hash_is_misbehaving() -> None:
    node = _node(httpx.Response(200, text="not-a-hash"))

    with pytest.raises(NodeMisbehaving, match="other than a block hash"):
        node.block_hash(1)


def test_a_not_found_reply_is_unavailable_with_its_text() -> None:
    node = _node(httpx.Response(404, text="Block not found"))

    with pytest.raises(NodeUnavailable, match="HTTP 404 \\(Block not found\\)"):
        node.block_hash(1)


def test_a_mempool_that_is_not_a_list_is_misbehaving() -> None:
    node = _node(httpx.Response(200, json={"txids": []}))

    with pytest.raises(NodeMisbehaving, match="list of txids"):
        node.mempool_txids()
