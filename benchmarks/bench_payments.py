"""How fast payments scan a real block and derive addresses, beside bare parses.

Run from the repository root::

    .venv/bin/python benchmarks/bench_payments.py [--watched 10000] [--runs 5]

Two measurements, each the median of ``--runs`` runs:

* **scan**: real mainnet block 702,349 (1.38 MB, 2,500 transactions, from the
  shared data folder) checked for ``--watched`` watched addresses: BIP84
  receive addresses of the BIP84 test vector's account key, with 20 real
  output addresses of that block among them so the scan has hits. Ours is
  ``parse_block`` (merkle root, witness commitment, proof of work, hash) and
  a set lookup of every output script; beside it, python-bitcoinlib's bare
  ``CBlock.deserialize`` of the same bytes and ``parse_block`` alone.
* **derive**: ``--watched`` receive addresses from the same account key with
  ``watch_keys.receive_address`` (derivation and bech32 encoding). python-
  bitcoinlib 0.12.2 has no BIP32 (no ``CExtPubKey``), so beside it stand
  embit's bare ``HDKey.child`` for the same children without any address
  encoding (the library ``watch_keys`` builds on), and python-bitcoinlib's
  bare parse of the same addresses (``CBitcoinAddress``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bitcoin.core import CBlock
from bitcoin.wallet import CBitcoinAddress
from rich.progress import Progress

from controlroom.errors import PaymentError
from controlroom.payments.addresses import Network, address_from_script, parse_address
from controlroom.payments.blocks import parse_block
from controlroom.payments.watch_keys import receive_address, watch_only_key
from tests.conftest import SHARED_DATA

BITCOIN = SHARED_DATA / "bitcoin"
BLOCK_HASH = "000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae"
REAL_HITS = 20


def median_seconds(work: Callable[[], Any], runs: int, progress: Progress) -> float:
    """The median wall time of ``runs`` calls of ``work``."""
    task = progress.add_task(getattr(work, "__name__", "run"), total=runs)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
        progress.advance(task)
    return statistics.median(times)


def real_output_addresses(raw: bytes, count: int) -> list[str]:
    """The first ``count`` distinct addresses paid by the block's outputs."""
    found: list[str] = []
    for tx in parse_block(raw, network=Network.MAINNET).transactions[1:]:
        for output in tx.outputs:
            try:
                text = address_from_script(
                    output.script_pubkey, network=Network.MAINNET
                ).text
            except PaymentError:  # an OP_RETURN or bare script: no address
                continue
            if text not in found:
                found.append(text)
            if len(found) == count:
                return found
    raise SystemExit(f"block has fewer than {count} addressable outputs")


def bench_scan(watched: int, runs: int, progress: Progress) -> list[tuple[str, float]]:
    raw = (BITCOIN / "mainnet_block_702349.raw").read_bytes()
    key = account_key()
    addresses = [receive_address(key, i).text for i in range(watched - REAL_HITS)]
    addresses += real_output_addresses(raw, REAL_HITS)
    scripts = {
        bytes.fromhex(parse_address(text, network=Network.MAINNET).script_pubkey)
        for text in addresses
    }

    def bare_deserialize() -> None:
        CBlock.deserialize(raw)

    def parse_only() -> None:
        parse_block(raw, network=Network.MAINNET, expected_hash=BLOCK_HASH)

    hits: list[int] = []

    def parse_and_scan() -> None:
        block = parse_block(raw, network=Network.MAINNET, expected_hash=BLOCK_HASH)
        hits.append(
            sum(
                output.script_pubkey in scripts
                for tx in block.transactions
                for output in tx.outputs
            )
        )

    rows = [
        ("python-bitcoinlib CBlock.deserialize", bare_deserialize),
        ("ours: parse_block (all checks)", parse_only),
        (f"ours: parse_block + scan {watched:,}", parse_and_scan),
    ]
    table = [(name, median_seconds(work, runs, progress)) for name, work in rows]
    print(f"scan: {hits[-1]} outputs of block 702,349 pay a watched address")
    return table


def bench_derive(
    watched: int, runs: int, progress: Progress
) -> list[tuple[str, float]]:
    key = account_key()
    texts = [receive_address(key, i).text for i in range(watched)]

    def ours() -> None:
        for index in range(watched):
            receive_address(key, index)

    def embit_children() -> None:
        for index in range(watched):
            key.receive_chain.child(index)

    def bitcoinlib_parse() -> None:
        for text in texts:
            CBitcoinAddress(text).to_scriptPubKey()

    rows = [
        ("embit HDKey.child (no encoding)", embit_children),
        ("python-bitcoinlib CBitcoinAddress parse", bitcoinlib_parse),
        (f"ours: receive_address x {watched:,}", ours),
    ]
    return [(name, median_seconds(work, runs, progress)) for name, work in rows]


def account_key() -> Any:
    """The BIP84 test vector's account key, watch-only."""
    vector = json.loads((BITCOIN / "bip84_vectors.json").read_text())
    return watch_only_key(vector["account_0"]["zpub"], network=Network.MAINNET)


def print_table(title: str, rows: list[tuple[str, float]], count: int) -> None:
    baseline = rows[0][1]
    print()
    print(f"{title:<44}{'median ms':>11}{'per item µs':>13}{'× first':>9}")
    print("-" * 77)
    for name, seconds in rows:
        print(
            f"{name:<44}{seconds * 1000:>11.1f}"
            f"{seconds / count * 1e6:>13.2f}{seconds / baseline:>9.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watched", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.watched <= REAL_HITS:
        raise SystemExit(f"--watched must be above {REAL_HITS}")

    print(f"payments: {args.watched:,} watched addresses, median of {args.runs} runs")
    with Progress(transient=True) as progress:
        scan = bench_scan(args.watched, args.runs, progress)
        derive = bench_derive(args.watched, args.runs, progress)
    print_table("scan block 702,349 (per item = per tx)", scan, 2_500)
    print_table(f"derive {args.watched:,} addresses", derive, args.watched)


if __name__ == "__main__":
    main()
