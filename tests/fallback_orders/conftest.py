"""Fixtures of the fallback channels: a spool folder and its watch-only wallet."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlroom.demo.datafiles import load_watch_only_account
from controlroom.fallback_orders.spool import Spool
from controlroom.fallback_orders.spool_wallet import SpoolWallet, spool_wallet
from controlroom.payments.addresses import Network


@pytest.fixture(scope="session")
def demo_fallback_wallet() -> SpoolWallet:
    """The demo world's fallback account (m/84'/1'/1', regtest), from index 0."""
    account = load_watch_only_account()
    return spool_wallet(account.fallback_vpub, network=Network.REGTEST)


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    """An empty spool in a folder of its own."""
    return Spool(tmp_path / "spool")
