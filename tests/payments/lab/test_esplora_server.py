"""The lab Esplora server answers Esplora's routes in its shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from controlroom.payments.lab.esplora_server import EsploraServer
from controlroom.payments.lab.mainnet import MainnetArchive
from tests.conftest import SHARED_DATA

EXAMPLES = json.loads(
    (SHARED_DATA / "bitcoin" / "esplora_format_examples.json").read_text()
)
BLOCK_542213 = "000000000000000000143a2c56c0214236dadfd30df41d4a0345492ad6d861ec"
COINBASE_542213 = "c399a9d747a422c9fc9261934f96c406cec3ca136280812f8abb8a3b9fdd868d"


@pytest.fixture(scope="module")
def server() -> Iterator[EsploraServer]:
    with EsploraServer(MainnetArchive(SHARED_DATA)) as server:
        yield server  # type: ignore[misc]


def _get(server: EsploraServer, path: str) -> httpx.Response:
    return httpx.get(server.url + path, timeout=5)


def test_the_tip_routes_answer_plain_text(server: EsploraServer) -> None:
    assert _get(server, "/blocks/tip/height").text == "702349"
    assert _get(server, "/blocks/tip/hash").text.startswith("000000000000000000000c83")


def test_a_confirmed_transaction_has_esploras_shape(server: EsploraServer) -> None:
    expected = EXAMPLES["GET /tx/:txid (confirmed coinbase of block 542213)"]

    shaped = _get(server, f"/tx/{COINBASE_542213}").json()

    assert shaped["status"] == expected["status"]
    assert (
        shaped["vout"][0]["scriptpubkey_address"]
        == (expected["vout"][0]["scriptpubkey_address"])
    )
    assert [o["scriptpubkey_type"] for o in shaped["vout"]] == [
        o["scriptpubkey_type"] for o in expected["vout"]
    ]
    assert shaped["size"] == expected["size"]
    assert shaped["weight"] == expected["weight"]


def test_status_hex_and_raw_of_a_transaction(server: EsploraServer) -> None:
    expected = EXAMPLES["GET /tx/:txid/status (confirmed)"]

    status = _get(server, f"/tx/{COINBASE_542213}/status").json()
    text = _get(server, f"/tx/{COINBASE_542213}/hex").text
    raw = _get(server, f"/tx/{COINBASE_542213}/raw").content

    assert status == expected
    assert bytes.fromhex(text) == raw


def test_block_routes(server: EsploraServer) -> None:
    txids = _get(server, f"/block/{BLOCK_542213}/txids").json()
    header = _get(server, f"/block/{BLOCK_542213}/header").text
    block = _get(server, f"/block/{BLOCK_542213}").json()

    assert txids == EXAMPLES["GET /block/:hash/txids"]
    assert len(bytes.fromhex(header)) == 80
    assert (block["id"], block["height"], block["tx_count"]) == (
        BLOCK_542213,
        542213,
        4,
    )
    assert _get(server, "/block-height/542213").text == BLOCK_542213


@pytest.mark.parametrize(
    "path", ["/tx/" + "00" * 32, "/block/" + "00" * 32, "/block-height/5", "/nope"]
)
def test_unknown_things_are_404_in_plain_text(server: EsploraServer, path: str) -> None:
    reply = _get(server, path)

    assert reply.status_code == 404
    assert reply.headers["content-type"] == "text/plain"
    assert "not found" in reply.text


def test_a_down_node_answers_503(server: EsploraServer) -> None:
    server.faults.down = True
    try:
        reply = _get(server, "/blocks/tip/height")
    finally:
        server.faults.clear()

    assert reply.status_code == 503
