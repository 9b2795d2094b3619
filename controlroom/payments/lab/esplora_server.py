"""A lab node speaking the Esplora REST API, on 127.0.0.1.

The routes the adapter and a person's curl need, as in Esplora's
``API.md``: tip height and hash, the hash at a height, a block (JSON, raw,
header, txids), a transaction (JSON, hex, raw, status) and the mempool's
txids. Anything unknown is ``404`` with a plain-text reason, as Esplora
answers.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from bitcoin.core import CBlock, CTransaction

from controlroom.errors import NodeUnavailable
from controlroom.payments.lab import shapes
from controlroom.payments.lab.faults import ChainView
from controlroom.payments.lab.serving import LabHandler, LabServer

_HASH = r"([0-9a-fA-F]{64})"
_TEXT = "text/plain"
_JSON = "application/json"
_BINARY = "application/octet-stream"


class _NotFound(Exception):
    pass


class _EsploraHandler(LabHandler):
    server_version = "esplora-lab"

    def do_GET(self) -> None:
        view = self.faulty_view()
        if view is None:
            return
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            status, body, content_type = _route(view, path)
        except (_NotFound, NodeUnavailable) as missing:
            reason = str(missing) if isinstance(missing, _NotFound) else "not found"
            self.reply(404, reason.encode(), _TEXT)
            return
        self.reply(status, body, content_type)


class EsploraServer(LabServer):
    """An Esplora REST lab node serving a ``LabChain`` or ``MainnetArchive``."""

    handler = _EsploraHandler


def _route(view: ChainView, path: str) -> tuple[int, bytes, str]:
    if path == "/blocks/tip/height":
        return 200, str(view.claimed_height).encode(), _TEXT
    if path == "/blocks/tip/hash":
        return 200, view.tip_hash.encode(), _TEXT
    if path == "/mempool/txids":
        return 200, json.dumps(view.mempool_txids()).encode(), _JSON

    if match := re.fullmatch(r"/block-height/([0-9]+)", path):
        height = int(match.group(1))
        if height > view.height:
            raise _NotFound("Block not found")
        return 200, view.block_hash(height).encode(), _TEXT
    if match := re.fullmatch(rf"/block/{_HASH}(/raw|/header|/txids)?", path):
        return _block_route(view, match.group(1).lower(), match.group(2))
    if match := re.fullmatch(rf"/tx/{_HASH}(/hex|/raw|/status)?", path):
        return _tx_route(view, match.group(1).lower(), match.group(2))
    raise _NotFound(f"Path {path!r} not found")


def _block_route(
    view: ChainView, block_hash: str, part: str | None
) -> tuple[int, bytes, str]:
    raw = view.raw_block(block_hash)
    if part == "/raw":
        return 200, raw, _BINARY
    if part == "/header":
        return 200, raw[:80].hex().encode(), _TEXT
    if part == "/txids":
        return 200, json.dumps(list(view.block_txids(block_hash))).encode(), _JSON
    height = view.block_height(block_hash)
    assert height is not None  # raw_block found it
    shaped = dict(_block_json(raw, height))
    shaped["id"] = block_hash  # the hash asked for, even a made-up one
    return 200, json.dumps(shaped).encode(), _JSON


@functools.lru_cache(maxsize=32)
def _block_json(raw: bytes, height: int) -> dict[str, Any]:
    # Parsing a full block takes a quarter second; tip checks ask often.
    return shapes.esplora_block(CBlock.deserialize(raw), height=height)


def _tx_route(view: ChainView, txid: str, part: str | None) -> tuple[int, bytes, str]:
    try:
        raw = view.raw_transaction(txid)
    except NodeUnavailable as missing:
        raise _NotFound("Transaction not found") from missing
    if part == "/raw":
        return 200, raw, _BINARY
    if part == "/hex":
        return 200, raw.hex().encode(), _TEXT
    status = _status(view, txid)
    if part == "/status":
        return 200, json.dumps(status).encode(), _JSON
    shaped = shapes.esplora_transaction(
        CTransaction.deserialize(raw), network=view.network, status=status
    )
    return 200, json.dumps(shaped).encode(), _JSON


def _status(view: ChainView, txid: str) -> dict[str, Any]:
    found = view.transaction_block(txid)
    if found is None:
        return shapes.esplora_status(None, height=None, block_time=None)
    block_hash, height = found
    block_time = shapes.read_header(view.source.raw_block(block_hash))[0].nTime
    return shapes.esplora_status(block_hash, height=height, block_time=block_time)
