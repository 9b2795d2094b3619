"""``controlroom fallback``: verify and merge a spool, build the order page."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from controlroom.cli import app, run
from controlroom.config import Settings
from controlroom.demo.datafiles import load_watch_only_account
from controlroom.errors import ConfigurationError
from controlroom.fallback_orders.actions import check_spool_account
from controlroom.fallback_orders.spool import Spool
from controlroom.fallback_orders.spool_wallet import SpoolWallet
from controlroom.messaging.smsc_lab import LabSmsc
from tests.fallback_orders.world import (
    keys_in_primary,
    primary_issuing_from,
    primary_with_depot,
    spool_of,
    spooled_order,
)


def url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_verify_reports_an_intact_spool_with_its_head(tmp_path: Path) -> None:
    spool = spool_of(tmp_path / "spool", 3)

    result = CliRunner().invoke(
        app, ["fallback", "verify", "--spool", str(tmp_path / "spool")]
    )

    assert result.exit_code == 0, result.output
    assert "Spool intact" in result.output
    assert "3 order(s) (3 sms)" in result.output
    assert f"head 3:{spool.head[1]}" in result.output


def test_verify_names_the_first_bad_record_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "spool"
    spool_of(folder, 3)
    segment = folder / "000001.jsonl"
    segment.write_text(segment.read_text().replace('"0155"', '"0150"', 1))

    with pytest.raises(SystemExit) as exited:
        run(["fallback", "verify", "--spool", str(folder)])

    assert exited.value.code == 1
    error = capsys.readouterr().err
    assert "broken at record 1: edited" in error
    assert len(error.strip().splitlines()) == 1


def test_merge_prints_a_table_per_channel_and_merges_once(
    engine: Engine, tmp_path: Path
) -> None:
    primary_with_depot(engine)
    folder = tmp_path / "spool"
    Spool(folder).accept_many(
        [spooled_order(1), spooled_order(2), spooled_order(3, channel="onion_mirror")]
    )
    command = [
        "fallback",
        "merge",
        "--spool",
        str(folder),
        "--database-url",
        url(engine),
    ]

    first = CliRunner().invoke(app, command)
    second = CliRunner().invoke(app, command)

    assert first.exit_code == 0, first.output
    assert re.search(r"sms\s.*\b2\b.*\b0\b", first.output)
    assert re.search(r"onion_mirror\s.*\b1\b.*\b0\b", first.output)
    assert "3 new order(s), 0 already present" in first.output
    assert "0 new order(s), 3 already present" in second.output
    assert len(keys_in_primary(engine)) == 3


def test_order_page_build_writes_the_page_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROLROOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONTROLROOM_FALLBACK_SMS_NUMBER", "+47 4000 0123")
    # Orders in the data folder's spool must not reach the public page.
    spool_of(tmp_path / "data" / "fallback-spool", 2)

    result = CliRunner().invoke(app, ["fallback", "order-page", "build"])

    assert result.exit_code == 0, result.output
    assert "Order page written" in result.output
    page = (tmp_path / "data" / "order-page" / "index.html").read_text()
    assert "+47 4000 0123" in page
    assert "+4790000000" not in page and "+4790000001" not in page


def test_read_texts_answers_an_order_the_smsc_delivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LabSmsc(system_id="cryptopack", password="lab-pw42") as smsc:
        for name, value in {
            "DATA_DIR": str(tmp_path / "data"),
            "SMS_GATEWAY": "smpp",
            "SMS_HOST": "127.0.0.1",
            "SMS_PORT": str(smsc.port),
            "SMS_ACCOUNT": "cryptopack",
            "SMS_SECRET": "lab-pw42",
            "FALLBACK_SPOOL_DIR": str(tmp_path / "spool"),
            "FALLBACK_WALLET_KEY": load_watch_only_account().fallback_vpub,
            "FALLBACK_WALLET_NETWORK": "regtest",
        }.items():
            monkeypatch.setenv(f"CONTROLROOM_{name}", value)

        def deliver_once_bound() -> None:
            smsc.deliver_text("+4791234567", "ORDER 0155 0364 S", wait_seconds=5)

        sender = threading.Thread(target=deliver_once_bound)
        sender.start()
        result = CliRunner().invoke(
            app, ["fallback", "read-texts", "--every", "3", "--rounds", "1"]
        )
        sender.join()
        submitted = smsc.submitted

    assert result.exit_code == 0, result.output
    assert "new order spool record 1" in result.output
    [record] = Spool(tmp_path / "spool").records()
    assert {m.destination for m in submitted} == {"4791234567"}
    assert record.order["pay_to"]["address"].startswith("bcrt1q")


def test_read_texts_refuses_to_start_without_a_wallet_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROLROOM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CONTROLROOM_FALLBACK_WALLET_KEY", raising=False)

    result = CliRunner().invoke(app, ["fallback", "read-texts", "--rounds", "1"])

    assert result.exit_code != 0
    assert "CONTROLROOM_FALLBACK_WALLET_KEY" in str(result.exception)


def test_verify_checks_a_head_kept_elsewhere(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool = spool_of(folder, 3)
    seq, digest = spool.head
    segment = folder / "000001.jsonl"
    segment.write_text("".join(segment.read_text().splitlines(keepends=True)[:2]))
    (folder / "head.json").unlink()

    result = CliRunner().invoke(
        app,
        [
            "fallback",
            "verify",
            "--spool",
            str(folder),
            "--expect-head",
            f"{seq}:{digest}",
        ],
    )

    assert result.exit_code != 0
    assert "record 3: truncated: the spool ends at record 2" in str(result.exception)


def test_merge_names_orders_paid_to_addresses_already_issued_and_fails(
    engine: Engine, tmp_path: Path, demo_fallback_wallet: SpoolWallet
) -> None:
    vpub = load_watch_only_account().fallback_vpub
    web_codes = primary_issuing_from(engine, vpub, issued=2)
    folder = tmp_path / "spool"
    Spool(folder).accept_many(
        [spooled_order(n, wallet=demo_fallback_wallet) for n in (0, 1)]
    )
    command = ["fallback", "merge", "--spool", str(folder)]

    result = CliRunner().invoke(app, [*command, "--database-url", url(engine)])

    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "2 new order(s)" in output
    assert "2 order(s) share an address with another parcel" in output
    for code in web_codes:
        assert f"which parcel {code} was given first" in output
    assert len(keys_in_primary(engine)) == 4


def test_read_texts_refuses_the_account_the_primary_issues_from(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vpub = load_watch_only_account().fallback_vpub
    primary_issuing_from(engine, vpub, issued=1)
    for name, value in {
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": url(engine),
        "FALLBACK_WALLET_KEY": vpub,
        "FALLBACK_WALLET_NETWORK": "regtest",
    }.items():
        monkeypatch.setenv(f"CONTROLROOM_{name}", value)

    result = CliRunner().invoke(app, ["fallback", "read-texts", "--rounds", "1"])

    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigurationError)
    assert "an account of its own" in str(result.exception)
    assert not (tmp_path / "data" / "fallback-spool").exists()


def test_the_spool_account_may_be_registered_in_the_primary_never_activated(
    engine: Engine, tmp_path: Path, demo_fallback_wallet: SpoolWallet
) -> None:
    primary_with_depot(engine, load_watch_only_account().fallback_vpub)
    settings = Settings(data_dir=tmp_path, database_url=url(engine))

    assert check_spool_account(settings, demo_fallback_wallet) is True


def test_the_spool_account_is_not_checked_while_the_primary_is_down(
    tmp_path: Path, demo_fallback_wallet: SpoolWallet
) -> None:
    settings = Settings(data_dir=tmp_path)

    assert check_spool_account(settings, demo_fallback_wallet) is False


def test_order_page_build_refuses_a_number_that_is_no_phone_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROLROOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONTROLROOM_FALLBACK_SMS_NUMBER", "<script>")

    result = CliRunner().invoke(app, ["fallback", "order-page", "build"])

    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigurationError)
    assert "not a phone number in international form" in str(result.exception)
    assert not (tmp_path / "data" / "order-page").exists()
