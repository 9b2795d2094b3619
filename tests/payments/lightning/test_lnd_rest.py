"""LND's REST API, spoken to the lab node: invoices, lookups, refusals."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from controlroom.errors import (
    ConfigurationError,
    InvoiceUnknownToNode,
    NodeAccessDenied,
    NodeMisbehaving,
    NodeUnavailable,
    PaymentError,
)
from controlroom.payments.addresses import Network
from controlroom.payments.bolt11 import decode_invoice
from controlroom.payments.lab.lightning_node import LabLightningNode, LightningLie
from controlroom.payments.lab.lightning_server import LabLightningServer
from controlroom.payments.lightning.lnd_rest import LndRestNode
from controlroom.payments.lightning.node import (
    LightningInvoiceState,
    LightningNodeConfig,
    read_macaroon,
)
from tests.conftest import DAY
from tests.payments.lightning.conftest import LabClock

MEMO = "CryptoPack parcel TEST"


def test_a_new_invoice_decodes_to_what_was_asked_and_the_nodes_key(
    lab_lnd: LabLightningServer, lnd: LndRestNode
) -> None:
    created = lnd.create_invoice(amount_sat=25_000, memo=MEMO, expiry_seconds=900)

    decoded = decode_invoice(created.payment_request, network=Network.REGTEST)
    assert decoded.amount_sat == 25_000
    assert decoded.payment_hash == created.payment_hash
    assert decoded.expiry_seconds == 900
    assert decoded.description == MEMO
    assert decoded.payee_node_id == lab_lnd.node.node_id
    assert decoded.created_at == DAY
    assert created.add_index == 1


def test_a_settled_invoice_is_reported_with_amount_and_settle_time(
    lab_lnd: LabLightningServer, lnd: LndRestNode
) -> None:
    created = lnd.create_invoice(amount_sat=25_000, memo=MEMO, expiry_seconds=900)
    lab_lnd.node.settle(created.payment_hash, at=DAY + timedelta(minutes=4))

    status = lnd.lookup_invoice(created.payment_hash)

    assert status.state is LightningInvoiceState.SETTLED
    assert status.amount_paid_msat == 25_000_000
    assert status.settled_at == DAY + timedelta(minutes=4)
    assert status.created_at == DAY
    assert status.expiry_seconds == 900


def test_an_open_invoice_past_its_expiry_is_canceled_as_lnd_does(
    lab_lnd: LabLightningServer, lnd: LndRestNode, lab_clock: LabClock
) -> None:
    created = lnd.create_invoice(amount_sat=1_000, memo=MEMO, expiry_seconds=60)
    lab_clock.now = DAY + timedelta(minutes=2)

    status = lnd.lookup_invoice(created.payment_hash)

    assert status.state is LightningInvoiceState.CANCELED
    assert status.amount_paid_msat == 0
    assert status.settled_at is None


def test_an_older_node_without_the_v2_lookup_is_asked_by_the_v1_route(
    lab_clock: LabClock,
) -> None:
    with LabLightningServer(LabLightningNode(clock=lab_clock), legacy=True) as old:
        node = LndRestNode(old.node_config())
        created = node.create_invoice(amount_sat=1_000, memo=MEMO, expiry_seconds=60)
        old.node.settle(created.payment_hash)

        first = node.lookup_invoice(created.payment_hash)
        second = node.lookup_invoice(created.payment_hash)
        node.close()

    assert first.state is second.state is LightningInvoiceState.SETTLED


def test_an_invoice_the_node_does_not_hold_is_named_unknown(
    lnd: LndRestNode,
) -> None:
    missing = "ab" * 32

    with pytest.raises(InvoiceUnknownToNode, match="has no invoice") as caught:
        lnd.lookup_invoice(missing)

    assert caught.value.payment_hash == missing


def test_a_wrong_macaroon_is_refused_without_showing_it(
    lab_lnd: LabLightningServer,
) -> None:
    config = dataclasses.replace(lab_lnd.node_config(), macaroon_hex="00ff00ff")
    node = LndRestNode(config)

    with pytest.raises(NodeAccessDenied, match="refused our macaroon") as caught:
        node.info()

    assert "00ff00ff" not in str(caught.value)
    assert lab_lnd.macaroon_hex not in str(caught.value)
    node.close()


def test_the_lab_node_answers_nothing_without_a_macaroon(
    lab_lnd: LabLightningServer,
) -> None:
    response = httpx.get(f"{lab_lnd.url}/v1/getinfo")

    assert response.status_code == 500
    assert response.json()["message"] == "expected 1 macaroon, got 0"


def test_a_macaroon_is_not_in_the_config_repr_nor_in_the_logs(
    lab_lnd: LabLightningServer, lnd: LndRestNode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    created = lnd.create_invoice(amount_sat=1_000, memo=MEMO, expiry_seconds=60)
    lnd.lookup_invoice(created.payment_hash)

    assert lab_lnd.macaroon_hex not in repr(lnd.config)
    assert lab_lnd.macaroon_hex not in caplog.text
    assert created.payment_hash in caplog.text


def test_a_macaroon_file_is_read_as_hex(tmp_path: Path) -> None:
    path = tmp_path / "invoice.macaroon"
    path.write_bytes(bytes([2, 1, 3, 0xFF]))

    assert read_macaroon(path) == "020103ff"


def test_a_missing_macaroon_file_says_where_it_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"Cannot read the macaroon file .*"):
        read_macaroon(tmp_path / "absent.macaroon")


def test_a_node_that_is_down_is_reported_unavailable(
    lab_lnd: LabLightningServer, lnd: LndRestNode
) -> None:
    lab_lnd.faults.down = True

    with pytest.raises(NodeUnavailable, match="cannot be reached"):
        lnd.create_invoice(amount_sat=1_000, memo=MEMO, expiry_seconds=60)


def test_a_stopped_node_refuses_the_connection(lab_clock: LabClock) -> None:
    server = LabLightningServer(LabLightningNode(clock=lab_clock))
    server.start()
    node = LndRestNode(server.node_config())
    server.stop()

    with pytest.raises(NodeUnavailable, match="refused or failed"):
        node.info()


def test_a_slow_node_is_given_up_on_after_its_timeout(
    lab_lnd: LabLightningServer,
) -> None:
    node = LndRestNode(lab_lnd.node_config(timeout_seconds=0.2))
    lab_lnd.faults.slow_seconds = 1.0

    with pytest.raises(NodeUnavailable, match=r"did not answer within 0\.2 s"):
        node.info()
    node.close()


@pytest.mark.parametrize(
    ("lie", "reason"),
    [
        (LightningLie.AMOUNT, "amount 26000000 msat instead of 25000000 msat"),
        (LightningLie.PAYMENT_HASH, "payment hash is not the r_hash"),
        (LightningLie.NETWORK, "for mainnet; the control room runs on regtest"),
        (LightningLie.PAYEE, "not by the node"),
    ],
)
def test_an_invoice_unlike_the_one_asked_for_is_refused(
    lab_lnd: LabLightningServer, lnd: LndRestNode, lie: LightningLie, reason: str
) -> None:
    lnd.info()  # learn the node's identity while it is honest
    lab_lnd.faults.lie = lie

    with pytest.raises(NodeMisbehaving, match=reason):
        lnd.create_invoice(amount_sat=25_000, memo=MEMO, expiry_seconds=600)


@pytest.mark.parametrize(
    ("lie", "reason"),
    [
        (LightningLie.SETTLED_SHORT, "settled with 12500000 msat paid"),
        (LightningLie.OTHER_INVOICE, "answered about another one"),
    ],
)
def test_a_lookup_that_contradicts_itself_is_refused(
    lab_lnd: LabLightningServer, lnd: LndRestNode, lie: LightningLie, reason: str
) -> None:
    created = lnd.create_invoice(amount_sat=25_000, memo=MEMO, expiry_seconds=600)
    lab_lnd.node.settle(created.payment_hash)
    lab_lnd.faults.lie = lie

    with pytest.raises(NodeMisbehaving, match=reason):
        lnd.lookup_invoice(created.payment_hash)


def test_a_node_on_another_network_is_refused(lab_clock: LabClock) -> None:
    node = LabLightningNode(network=Network.TESTNET, clock=lab_clock)
    with LabLightningServer(node) as testnet:
        config = dataclasses.replace(testnet.node_config(), network=Network.REGTEST)
        adapter = LndRestNode(config)

        with pytest.raises(NodeMisbehaving, match="runs on testnet, not regtest"):
            adapter.info()
        adapter.close()


def test_plain_http_to_another_host_is_refused_before_any_connection() -> None:
    config = LightningNodeConfig(
        key="oslo", url="http://lnd.example:8080", macaroon_hex="00ff"
    )

    with pytest.raises(ConfigurationError, match="macaroon would cross the network"):
        LndRestNode(config)


def test_https_without_the_nodes_certificate_is_refused(tmp_path: Path) -> None:
    config = LightningNodeConfig(
        key="oslo",
        url="https://lnd.example:8080",
        macaroon_hex="00ff",
        tls_cert_path=tmp_path / "tls.cert",
    )

    with pytest.raises(ConfigurationError, match=r"tls\.cert is not at"):
        LndRestNode(config)


def test_a_macaroon_that_is_not_hex_is_refused_without_repeating_it() -> None:
    config = LightningNodeConfig(
        key="oslo", url="http://127.0.0.1:8080", macaroon_hex="secret-words"
    )

    with pytest.raises(ConfigurationError, match="is not hex") as caught:
        LndRestNode(config)

    assert "secret-words" not in str(caught.value)


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.cert", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def certificates(tmp_path: Path) -> Iterator[tuple[tuple[Path, Path], Path]]:
    """The lab node's certificate and key, and another node's certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the lab node's certificate")
    own = _self_signed(tmp_path, "lab-lnd")
    other, _ = _self_signed(tmp_path, "other-lnd")
    yield own, other


def test_https_with_the_pinned_certificate_reaches_the_node(
    certificates: tuple[tuple[Path, Path], Path], lab_clock: LabClock
) -> None:
    own, _ = certificates
    with LabLightningServer(LabLightningNode(clock=lab_clock), tls=own) as server:
        node = LndRestNode(server.node_config())

        info = node.info()
        url = server.url
        node.close()

    assert url.startswith("https://127.0.0.1:")
    assert info.node_id == server.node.node_id


def test_https_with_another_certificate_than_the_pinned_one_is_refused(
    certificates: tuple[tuple[Path, Path], Path], lab_clock: LabClock
) -> None:
    own, other = certificates
    with LabLightningServer(LabLightningNode(clock=lab_clock), tls=own) as server:
        config = dataclasses.replace(server.node_config(), tls_cert_path=other)
        node = LndRestNode(config)

        with pytest.raises(NodeUnavailable, match=r"not the pinned tls\.cert"):
            node.info()
        node.close()


def _answering(status: int, payload: dict[str, object]) -> LndRestNode:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=payload)

    config = LightningNodeConfig(
        key="oslo", url="http://127.0.0.1:8080", macaroon_hex="00ff"
    )
    return LndRestNode(config, transport=httpx.MockTransport(reply))


def test_a_url_that_is_not_lnds_rest_port_says_so() -> None:
    node = _answering(404, {"code": 5, "message": "Not Found"})

    with pytest.raises(NodeUnavailable, match="has no REST route /v1/getinfo"):
        node.info()


def test_an_older_node_reporting_an_unknown_invoice_as_500_is_understood() -> None:
    node = _answering(500, {"code": 2, "message": "unable to locate invoice"})

    with pytest.raises(InvoiceUnknownToNode, match="has no invoice"):
        node.lookup_invoice("cd" * 32)


def test_a_payment_hash_that_is_not_hex_is_refused_before_asking() -> None:
    node = _answering(200, {})

    with pytest.raises(PaymentError, match="is not a payment hash"):
        node.lookup_invoice("not-a-hash")
