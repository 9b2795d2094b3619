"""A lab node speaking Bitcoin Core's JSON-RPC over HTTP, on 127.0.0.1.

JSON-RPC 1.0 as Core answers it: every reply is ``{"result", "error",
"id"}``; an error carries Core's code (-5 not found, -8 bad parameter,
-28 warming up, -32601 unknown method, -32700 unparsable) and, like Core's
legacy server, HTTP 500 (404 for an unknown method). Wrong credentials get
``401`` with an empty body, as from ``bitcoind``.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from typing import Any

from bitcoin.core import CBlock, CTransaction

from controlroom.errors import NodeUnavailable
from controlroom.payments.lab import shapes
from controlroom.payments.lab.faults import ChainSource, ChainView
from controlroom.payments.lab.serving import LabHandler, LabServer

RPC_INVALID_ADDRESS_OR_KEY = -5
RPC_INVALID_PARAMETER = -8
RPC_IN_WARMUP = -28
RPC_METHOD_NOT_FOUND = -32601
RPC_PARSE_ERROR = -32700
RPC_TYPE_ERROR = -3


class RpcError(Exception):
    """A JSON-RPC error reply."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _CoreHandler(LabHandler):
    server_version = "bitcoind-lab"

    def do_POST(self) -> None:
        body = self.read_body()
        lab = self.server.lab
        assert isinstance(lab, CoreRpcServer)
        if not self._authorised(lab):
            self.reply(
                401, b"", "text/html", {"WWW-Authenticate": 'Basic realm="jsonrpc"'}
            )
            return
        view = self.faulty_view()
        if view is None:
            return

        request_id: Any = None
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise RpcError(RPC_PARSE_ERROR, "Top-level object parse error")
            request_id = request.get("id")
            if lab.faults.warming_up:
                raise RpcError(RPC_IN_WARMUP, "Loading block index...")
            result = _call(
                lab, view, str(request.get("method")), request.get("params") or []
            )
        except RpcError as error:
            status = 404 if error.code == RPC_METHOD_NOT_FOUND else 500
            self._answer(status, None, error, request_id)
            return
        except NodeUnavailable as missing:  # e.g. a lag height the archive lacks
            not_found = RpcError(RPC_INVALID_ADDRESS_OR_KEY, str(missing))
            self._answer(500, None, not_found, request_id)
            return
        except ValueError:
            self._answer(
                500, None, RpcError(RPC_PARSE_ERROR, "Parse error"), request_id
            )
            return
        self._answer(200, result, None, request_id)

    def _authorised(self, lab: CoreRpcServer) -> bool:
        sent = self.headers.get("Authorization", "")
        wanted = "Basic " + base64.b64encode(
            f"{lab.user}:{lab.password}".encode()
        ).decode("ascii")
        return hmac.compare_digest(sent.encode(), wanted.encode())

    def _answer(
        self, status: int, result: Any, error: RpcError | None, request_id: Any
    ) -> None:
        payload = {
            "result": result,
            "error": None
            if error is None
            else {"code": error.code, "message": error.message},
            "id": request_id,
        }
        body = json.dumps(payload).encode()
        self.reply(status, body, "application/json")


class CoreRpcServer(LabServer):
    """A Bitcoin Core JSON-RPC lab node.

    Parameters
    ----------
    chain
        The chain it serves (``LabChain`` or ``MainnetArchive``).
    user, password
        The RPC credentials it accepts (``rpcuser``/``rpcpassword``).
    port
        0 to let the OS pick.
    """

    handler = _CoreHandler

    def __init__(
        self,
        chain: ChainSource,
        *,
        user: str = "lab",
        password: str = "lab-password",
        port: int = 0,
    ) -> None:
        super().__init__(chain, port=port)
        self.user = user
        self.password = password


def _call(lab: CoreRpcServer, view: ChainView, method: str, params: Any) -> Any:
    args = list(params) if isinstance(params, list) else []
    if method == "getblockchaininfo":
        return _blockchain_info(view)
    if method == "getblockcount":
        return view.claimed_height
    if method == "getbestblockhash":
        return view.tip_hash
    if method == "getblockhash":
        height = _int_arg(args, 0, "height")
        if not 0 <= height <= view.height:
            raise RpcError(RPC_INVALID_PARAMETER, "Block height out of range")
        return _found(view.block_hash, height)
    if method == "getblock":
        verbosity = _int_arg(args, 1, "verbosity", default=1)
        return _block(view, _str_arg(args, 0, "blockhash"), verbosity)
    if method == "getblockheader":
        verbose = bool(args[1]) if len(args) > 1 else True
        return _header(view, _str_arg(args, 0, "blockhash"), verbose)
    if method == "getrawmempool":
        return view.mempool_txids()
    if method == "getrawtransaction":
        verbose = bool(args[1]) if len(args) > 1 else False
        return _transaction(view, _str_arg(args, 0, "txid"), verbose)
    if method == "uptime":
        return int(time.monotonic() - lab.started_at)
    raise RpcError(RPC_METHOD_NOT_FOUND, "Method not found")


def _blockchain_info(view: ChainView) -> dict[str, Any]:
    tip, _ = shapes.read_header(view.source.raw_block(view.tip_hash))
    return {
        "chain": shapes.core_chain_name(view.network),
        "blocks": view.claimed_height,
        "headers": view.claimed_height,
        "bestblockhash": view.tip_hash,
        "bits": f"{tip.nBits:08x}",
        "target": shapes.target_hex(tip.nBits),
        "difficulty": shapes.difficulty(tip.nBits),
        "time": tip.nTime,
        "mediantime": tip.nTime,
        "verificationprogress": 1,
        "initialblockdownload": False,
        "size_on_disk": 0,
        "pruned": False,
        "warnings": [],
    }


def _block(view: ChainView, block_hash: str, verbosity: int) -> Any:
    raw = _found(view.raw_block, block_hash)
    if verbosity == 0:
        return raw.hex()
    height = view.block_height(block_hash)
    assert height is not None  # raw_block found it
    # The verbose forms describe the real block, even behind a made-up hash.
    real = view.source.raw_block(view.source.block_hash(height))
    return shapes.core_block(
        CBlock.deserialize(real),
        height=height,
        tip_height=view.height,
        next_hash=_next_hash(view, height),
        network=view.network,
        verbosity=min(verbosity, 2),
    )


def _header(view: ChainView, block_hash: str, verbose: bool) -> Any:
    raw = _found(view.raw_block, block_hash)
    if not verbose:
        return raw[:80].hex()
    height = view.block_height(block_hash)
    assert height is not None
    header, n_tx = shapes.read_header(raw)
    return shapes.core_header(
        header,
        n_tx=n_tx,
        height=height,
        tip_height=view.height,
        next_hash=_next_hash(view, height),
    )


def _transaction(view: ChainView, txid: str, verbose: bool) -> Any:
    try:
        raw = view.raw_transaction(txid)
    except NodeUnavailable as missing:
        raise RpcError(
            RPC_INVALID_ADDRESS_OR_KEY,
            "No such mempool or blockchain transaction. Use gettransaction for "
            "wallet transactions.",
        ) from missing
    if not verbose:
        return raw.hex()
    shaped = shapes.core_transaction(
        CTransaction.deserialize(raw), network=view.network
    )
    found = view.transaction_block(txid)
    if found is not None:
        block_hash, height = found
        block_time = shapes.read_header(view.source.raw_block(block_hash))[0].nTime
        shaped.update(
            blockhash=block_hash,
            confirmations=view.height - height + 1,
            time=block_time,
            blocktime=block_time,
        )
    return shaped


def _next_hash(view: ChainView, height: int) -> str | None:
    return view.block_hash(height + 1) if height < view.height else None


def _found(lookup: Any, key: Any) -> Any:
    try:
        return lookup(key)
    except NodeUnavailable as missing:
        raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Block not found") from missing


def _int_arg(args: list[Any], index: int, name: str, default: int | None = None) -> int:
    if len(args) <= index:
        if default is None:
            raise RpcError(RPC_INVALID_PARAMETER, f"Missing parameter {name}")
        return default
    value = args[index]
    if isinstance(value, bool) or not isinstance(value, int):
        raise RpcError(RPC_TYPE_ERROR, f"JSON value of {name} is not an integer")
    return value


def _str_arg(args: list[Any], index: int, name: str) -> str:
    if len(args) <= index or not isinstance(args[index], str):
        raise RpcError(RPC_TYPE_ERROR, f"Missing or non-string parameter {name}")
    return str(args[index])
