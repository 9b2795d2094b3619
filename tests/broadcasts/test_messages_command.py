"""``controlroom messages``: one outbox round through the lab SMSC, and counts."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from controlroom.broadcasts.gateways import open_gateway, read_secret
from controlroom.broadcasts.models import MessageState
from controlroom.cli import run
from controlroom.config import Settings
from controlroom.errors import ConfigurationError
from controlroom.messaging.smsc_lab import LabSmsc
from tests.broadcasts.conftest import BroadcastDay
from tests.broadcasts.outbox_world import messages, queue_notices

SYSTEM_ID, PASSWORD = "cryptopack", "lab-pw42"


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def call(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit:
            run(list(args))
        captured = capsys.readouterr()
        return int(exit.value.code or 0), captured.out, captured.err

    return call


def _secret_file(folder: Path, mode: int = 0o600) -> Path:
    path = folder / "sms-secret"
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    os.chmod(path, mode)
    return path


def test_messages_send_runs_one_round_and_status_counts_the_states(
    small_day: BroadcastDay,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    invoke: Callable[..., tuple[int, str, str]],
) -> None:
    queue_notices(small_day)
    with LabSmsc(system_id=SYSTEM_ID, password=PASSWORD) as smsc:
        monkeypatch.setenv("CONTROLROOM_SMS_GATEWAY", "smpp")
        monkeypatch.setenv("CONTROLROOM_SMS_PORT", str(smsc.port))
        monkeypatch.setenv("CONTROLROOM_SMS_ACCOUNT", SYSTEM_ID)
        monkeypatch.setenv("CONTROLROOM_SMS_SECRET_FILE", str(_secret_file(tmp_path)))

        code, out, err = invoke("messages", "send", "--database-url", sqlite_url)

    status_code, status, _ = invoke("messages", "status", "--database-url", sqlite_url)
    assert (code, status_code) == (0, 0), err
    assert "sent" in out and "│ 2 " in out
    assert PASSWORD not in out + err
    assert {m.state for m in messages(small_day.engine)} == {MessageState.DELIVERED}
    assert "sms" in status and "│ 2 " in status


def test_every_keeps_rounds_going_so_a_failed_sms_is_retried_then_flagged(
    small_day: BroadcastDay,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    invoke: Callable[..., tuple[int, str, str]],
) -> None:
    queue_notices(small_day)
    with LabSmsc(system_id=SYSTEM_ID, password=PASSWORD) as smsc:
        smsc.faults.receipt_stat = "UNDELIV"
        monkeypatch.setenv("CONTROLROOM_SMS_GATEWAY", "smpp")
        monkeypatch.setenv("CONTROLROOM_SMS_PORT", str(smsc.port))
        monkeypatch.setenv("CONTROLROOM_SMS_ACCOUNT", SYSTEM_ID)
        monkeypatch.setenv("CONTROLROOM_SMS_SECRET_FILE", str(_secret_file(tmp_path)))
        monkeypatch.setenv("CONTROLROOM_SMS_MAX_ATTEMPTS", "2")

        code, out, err = invoke(
            "messages", "send", "--every", "1", "--rounds", "2",
            "--database-url", sqlite_url,
        )  # fmt: skip
        submitted = len(smsc.submitted)

    assert code == 0, err
    assert out.count("queued again (failed receipt)") == 2
    assert submitted == 4  # two messages, each sent twice
    assert {m.state for m in messages(small_day.engine)} == {MessageState.FAILED}
    assert all(m.attempts == 2 for m in messages(small_day.engine))


def test_no_configured_gateway_is_one_readable_line(
    engine: Engine, sqlite_url: str, invoke: Callable[..., tuple[int, str, str]]
) -> None:
    code, _, err = invoke("messages", "send", "--database-url", sqlite_url)

    assert code == 1
    assert "No SMS gateway is configured" in err
    assert "Traceback" not in err


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    settings = Settings(
        sms_gateway="smpp",
        sms_account=SYSTEM_ID,
        sms_secret_file=_secret_file(tmp_path, stat.S_IRUSR | stat.S_IRGRP),
    )

    with pytest.raises(ConfigurationError, match="chmod 600") as refused:
        open_gateway(settings)

    assert PASSWORD not in str(refused.value)


def test_the_secret_comes_from_the_environment_first(tmp_path: Path) -> None:
    settings = Settings(sms_secret="from-env", sms_secret_file=_secret_file(tmp_path))

    assert read_secret(settings) == "from-env"


def test_an_http_gateway_needs_its_url() -> None:
    settings = Settings(sms_gateway="http", sms_account="AC1", sms_secret="t")

    with pytest.raises(ConfigurationError, match="CONTROLROOM_SMS_URL"):
        open_gateway(settings)


def test_a_secret_file_that_is_not_text_is_refused_without_quoting_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sms-secret"
    path.write_bytes(b"\xffs3cr3t\xfe\n")
    os.chmod(path, 0o600)
    settings = Settings(sms_gateway="smpp", sms_account=SYSTEM_ID, sms_secret_file=path)

    with pytest.raises(ConfigurationError, match="not UTF-8 text") as refused:
        open_gateway(settings)

    assert "s3cr3t" not in str(refused.value)


def test_an_unreachable_http_gateway_fails_the_command(
    small_day: BroadcastDay,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    invoke: Callable[..., tuple[int, str, str]],
) -> None:
    import socket

    queue_notices(small_day)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    # Nothing listens on the port any more: every send is refused.
    monkeypatch.setenv("CONTROLROOM_SMS_GATEWAY", "http")
    monkeypatch.setenv("CONTROLROOM_SMS_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CONTROLROOM_SMS_ACCOUNT", "AC1")
    monkeypatch.setenv("CONTROLROOM_SMS_SECRET", "token")

    code, out, _ = invoke("messages", "send", "--database-url", sqlite_url)

    assert code == 1
    assert "gateway is unavailable" in out
    assert {m.state for m in messages(small_day.engine)} == {MessageState.QUEUED}
