"""Polling a Lightning node from the command line, one transaction a round."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.cli import run
from controlroom.clock import set_simulated_time
from controlroom.errors import ConfigurationError
from controlroom.orders.models import CustomerKind
from controlroom.payments.lab.lightning_server import LabLightningServer
from controlroom.payments.lightning.lnd_rest import LndRestNode
from controlroom.payments.lightning.poller import lightning_node
from controlroom.payments.lightning.service import open_lightning_invoice
from controlroom.payments.models import Invoice, InvoiceStatus
from tests.conftest import DAY
from tests.payments.lightning.conftest import customer, parcel_from


def macaroon_file(tmp_path: Path, server: LabLightningServer) -> Path:
    path = tmp_path / "invoice.macaroon"
    path.write_bytes(bytes.fromhex(server.macaroon_hex))
    return path


def test_the_command_records_a_payment_the_node_settled(
    engine: Engine,
    sqlite_url: str,
    lab_lnd: LabLightningServer,
    lnd: LndRestNode,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Session(engine) as session, session.begin():
        parcel = parcel_from(session, customer(session, CustomerKind.REGULAR))
        opened = open_lightning_invoice(
            session,
            node=lnd,
            parcel=parcel,
            amount_sat=25_000,
            deadline=DAY + timedelta(hours=2),
            now=DAY,
            actor="webshop",
        )
        invoice_id = opened.invoice.id
        payment_hash = opened.invoice.payment_hash or ""
        set_simulated_time(
            session, now=DAY + timedelta(minutes=5), day_start=DAY, speed=60
        )
    lab_lnd.node.settle(payment_hash, at=DAY + timedelta(minutes=3))

    with pytest.raises(SystemExit) as exit:
        run(
            [
                "payments",
                "lightning",
                "--url",
                lab_lnd.url,
                "--macaroon",
                str(macaroon_file(tmp_path, lab_lnd)),
                "--key",
                "lab-lnd",
                "--network",
                "regtest",
                "--rounds",
                "1",
                "--database-url",
                sqlite_url,
            ]
        )

    assert exit.value.code in (0, None)
    assert "1 settled" in capsys.readouterr().out
    with Session(engine) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        assert invoice.status is InvoiceStatus.SETTLED


def test_an_unknown_network_is_refused_with_the_choices(tmp_path: Path) -> None:
    macaroon = tmp_path / "m"
    macaroon.write_bytes(b"\x02\x01")

    with pytest.raises(ConfigurationError, match="mainnet, testnet, signet, regtest"):
        lightning_node(
            key="lnd",
            url="http://127.0.0.1:1",
            macaroon=macaroon,
            cert=None,
            network="moonnet",
        )


def test_a_missing_macaroon_file_says_what_to_copy(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"invoice\.macaroon"):
        lightning_node(
            key="lnd",
            url="http://127.0.0.1:1",
            macaroon=tmp_path / "absent",
            cert=None,
            network="regtest",
        )


def test_the_command_says_at_once_when_the_node_does_not_answer(
    sqlite_url: str,
    engine: Engine,
    lab_lnd: LabLightningServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    macaroon = macaroon_file(tmp_path, lab_lnd)
    url = lab_lnd.url
    lab_lnd.stop()

    with pytest.raises(SystemExit) as exit:
        run(
            [
                "payments",
                "lightning",
                "--url",
                url,
                "--macaroon",
                str(macaroon),
                "--network",
                "regtest",
                "--rounds",
                "1",
                "--database-url",
                sqlite_url,
            ]
        )

    assert exit.value.code == 1
    assert "Error:" in capsys.readouterr().err


def test_https_without_a_certificate_asks_for_cert(tmp_path: Path) -> None:
    macaroon = tmp_path / "m"
    macaroon.write_bytes(b"\x02\x01")

    with pytest.raises(ConfigurationError, match="--cert"):
        lightning_node(
            key="lnd",
            url="https://127.0.0.1:8080",
            macaroon=macaroon,
            cert=None,
            network="regtest",
        )
