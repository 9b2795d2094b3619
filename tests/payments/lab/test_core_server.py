"""The lab Core server answers JSON-RPC in Bitcoin Core's shapes and codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from controlroom.payments.lab.core_server import CoreRpcServer
from controlroom.payments.lab.regtest import LabChain
from tests.conftest import SHARED_DATA

EXAMPLES = json.loads(
    (SHARED_DATA / "bitcoin" / "bitcoin_core_rpc_examples.json").read_text()
)
CUSTOMER = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


@pytest.fixture
def chain() -> LabChain:
    chain = LabChain()
    chain.pay([(CUSTOMER, 120_000)])
    chain.mine(3)
    return chain


@pytest.fixture
def server(chain: LabChain) -> Iterator[CoreRpcServer]:
    with CoreRpcServer(chain, user="u", password="p") as server:
        yield server  # type: ignore[misc]


def _rpc(
    server: CoreRpcServer, method: str, *params: Any, auth: tuple[str, str] = ("u", "p")
) -> httpx.Response:
    body = {"jsonrpc": "1.0", "id": 7, "method": method, "params": list(params)}
    return httpx.post(server.url, json=body, auth=auth, timeout=5)


def test_wrong_credentials_get_401_with_an_empty_body(server: CoreRpcServer) -> None:
    reply = _rpc(server, "getblockcount", auth=("u", "wrong"))

    assert reply.status_code == 401
    assert reply.content == b""


def test_replies_have_result_error_and_id(server: CoreRpcServer) -> None:
    reply = _rpc(server, "getblockcount")

    assert reply.json() == {"result": 3, "error": None, "id": 7}


def test_blockchain_info_has_cores_fields(
    server: CoreRpcServer, chain: LabChain
) -> None:
    info = _rpc(server, "getblockchaininfo").json()["result"]

    assert set(EXAMPLES["getblockchaininfo"]) - set(info) == {"chainwork"}
    assert (info["chain"], info["blocks"], info["bestblockhash"]) == (
        "regtest",
        3,
        chain.tip_hash,
    )


def test_getblock_verbosity_0_1_and_2(server: CoreRpcServer, chain: LabChain) -> None:
    block_hash = chain.block_hash(1)

    raw = _rpc(server, "getblock", block_hash, 0).json()["result"]
    summary = _rpc(server, "getblock", block_hash, 1).json()["result"]
    full = _rpc(server, "getblock", block_hash, 2).json()["result"]

    assert bytes.fromhex(raw) == chain.raw_block(block_hash)
    assert summary["height"] == 1
    assert summary["confirmations"] == 3
    assert summary["nextblockhash"] == chain.block_hash(2)
    assert summary["tx"] == list(chain.block_txids(block_hash))
    paid = full["tx"][1]["vout"][0]
    assert paid["scriptPubKey"]["address"] == CUSTOMER
    assert paid["scriptPubKey"]["type"] == "witness_v0_keyhash"
    assert paid["value"] == 0.0012


def test_getrawtransaction_verbose_names_its_block(
    server: CoreRpcServer, chain: LabChain
) -> None:
    txid = chain.block_txids(chain.block_hash(1))[1]

    shaped = _rpc(server, "getrawtransaction", txid, True).json()["result"]

    assert shaped["txid"] == txid
    assert shaped["blockhash"] == chain.block_hash(1)
    assert shaped["confirmations"] == 3


@pytest.mark.parametrize(
    ("call", "example"),
    [
        (("getblock", "00" * 32), "unknown block"),
        (("getblockhash", 4), "height out of range"),
    ],
)
def test_errors_are_shaped_like_cores(
    server: CoreRpcServer, call: tuple[Any, ...], example: str
) -> None:
    reply = _rpc(server, *call)

    expected = EXAMPLES["error_examples"][example]
    assert reply.status_code == 500
    assert reply.json()["error"] == expected["error"]


def test_an_unknown_method_is_minus_32601_with_404(server: CoreRpcServer) -> None:
    reply = _rpc(server, "sendtoaddress", CUSTOMER, 1)

    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == -32601


def test_a_warming_node_answers_minus_28(server: CoreRpcServer) -> None:
    server.faults.warming_up = True

    reply = _rpc(server, "getblockcount")

    assert reply.json()["error"] == EXAMPLES["error_examples"]["warming up"]["error"]


def test_uptime_and_mempool(server: CoreRpcServer, chain: LabChain) -> None:
    txid = chain.pay([(CUSTOMER, 1_000)])

    assert _rpc(server, "getrawmempool").json()["result"] == [txid]
    assert _rpc(server, "uptime").json()["result"] >= 0
