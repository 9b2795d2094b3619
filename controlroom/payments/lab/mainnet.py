"""Real mainnet blocks and transactions, served as a lab node's chain.

The archive reads the shared Bitcoin data folder (``data/bitcoin`` of the
shared data): the blocks of ``mainnet_blocks.json``, the full block 702,349
of ``mainnet_block_702349.raw`` and the transactions of
``mainnet_transactions.json``. It holds a handful of heights, not a chain:
a height it does not hold is answered as unknown. The standalone
transactions, whose blocks it lacks, are served as its mempool.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bitcoin.core import CBlock, b2lx

from controlroom.errors import ConfigurationError, NodeUnavailable
from controlroom.payments.addresses import Network

_FULL_BLOCK = ("mainnet_block_702349.raw", 702_349)


class MainnetArchive:
    """The real mainnet data of the shared folder, looked up by hash or txid.

    Parameters
    ----------
    data_folder
        The shared data folder (the one holding ``bitcoin/``) or its
        ``bitcoin`` subfolder.
    name
        The key the archive answers to as a node.
    """

    network = Network.MAINNET

    def __init__(self, data_folder: Path, *, name: str = "mainnet-archive") -> None:
        folder = (
            data_folder / "bitcoin"
            if (data_folder / "bitcoin").is_dir()
            else (data_folder)
        )
        if not (folder / "mainnet_blocks.json").is_file():
            raise ConfigurationError(
                f"No mainnet_blocks.json in {folder}; point the archive at the "
                "shared data folder.",
                setting="data_folder",
            )
        self.name = name
        self._by_height: dict[int, str] = {}
        self._blocks: dict[str, bytes] = {}
        self._block_txids: dict[str, tuple[str, ...]] = {}
        self._txs: dict[str, bytes] = {}
        self._tx_block: dict[str, str] = {}
        self._mempool: list[str] = []

        listed = _load_json(folder / "mainnet_blocks.json")
        for entry in listed["blocks"]:
            self._add_block(int(entry["height"]), bytes.fromhex(entry["hex"]))
        file_name, height = _FULL_BLOCK
        self._add_block(height, (folder / file_name).read_bytes())

        for entry in _load_json(folder / "mainnet_transactions.json")["transactions"]:
            txid = str(entry["txid"])
            if txid not in self._txs:
                self._txs[txid] = bytes.fromhex(entry["hex"])
                self._mempool.append(txid)

    @property
    def height(self) -> int:
        """The highest height the archive holds."""
        return max(self._by_height)

    @property
    def tip_hash(self) -> str:
        """The hash of the highest block the archive holds."""
        return self._by_height[self.height]

    @property
    def heights(self) -> list[int]:
        """The heights the archive holds, lowest first."""
        return sorted(self._by_height)

    def block_hash(self, height: int) -> str:
        """Return the hash at ``height``, if the archive holds that block."""
        found = self._by_height.get(height)
        if found is None:
            raise NodeUnavailable(
                f"The mainnet archive holds no block at height {height}.",
                node=self.name,
            )
        return found

    def raw_block(self, block_hash: str) -> bytes:
        """Return block ``block_hash`` in consensus serialisation."""
        raw = self._blocks.get(block_hash.lower())
        if raw is None:
            raise NodeUnavailable(
                f"The mainnet archive holds no block {block_hash}.", node=self.name
            )
        return raw

    def block_height(self, block_hash: str) -> int | None:
        """Return the height of ``block_hash``, or None if not held."""
        for height, found in self._by_height.items():
            if found == block_hash.lower():
                return height
        return None

    def block_txids(self, block_hash: str) -> tuple[str, ...]:
        """Return the txids of block ``block_hash`` in block order."""
        self.raw_block(block_hash)
        return self._block_txids[block_hash.lower()]

    def raw_transaction(self, txid: str) -> bytes:
        """Return a transaction of the archive's blocks or standalone list."""
        raw = self._txs.get(txid.lower())
        if raw is None:
            raise NodeUnavailable(
                f"The mainnet archive holds no transaction {txid}.", node=self.name
            )
        return raw

    def transaction_block(self, txid: str) -> str | None:
        """Return the hash of the block holding ``txid``, None if standalone."""
        return self._tx_block.get(txid.lower())

    def mempool_txids(self) -> list[str]:
        """Return the standalone transactions' txids."""
        return list(self._mempool)

    def _add_block(self, height: int, raw: bytes) -> None:
        block = CBlock.deserialize(raw)
        block_hash = b2lx(block.GetHash())
        self._by_height[height] = block_hash
        self._blocks[block_hash] = raw
        txids = []
        for tx in block.vtx:
            txid = b2lx(tx.GetTxid())
            txids.append(txid)
            self._txs[txid] = tx.serialize()
            self._tx_block[txid] = block_hash
        self._block_txids[block_hash] = tuple(txids)


def _load_json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded
