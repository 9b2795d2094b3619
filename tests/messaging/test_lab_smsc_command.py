"""``controlroom lab smsc``: a drill SMSC that the SMS settings can point at."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

import pytest

from controlroom.broadcasts.gateways import open_gateway
from controlroom.cli import run
from controlroom.config import Settings


def _run_in_background(args: list[str]) -> threading.Thread:
    def target() -> None:
        with pytest.raises(SystemExit):
            run(args)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def _wait_for(path: Path) -> dict[str, str]:
    deadline = time.monotonic() + 10
    while not path.exists() or not path.read_text().endswith("\n"):
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.05)
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_the_written_settings_reach_the_lab_smsc_both_ways(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / "lab-smsc.env"
    thread = _run_in_background(
        ["lab", "smsc", "--write", str(env), "--duration", "3",
         "--text", "+4791234567:HELP"]
    )  # fmt: skip
    values = _wait_for(env)
    secret = Path(values["CONTROLROOM_SMS_SECRET_FILE"])
    settings = Settings(
        sms_gateway="smpp",
        sms_host=values["CONTROLROOM_SMS_HOST"],
        sms_port=int(values["CONTROLROOM_SMS_PORT"]),
        sms_account=values["CONTROLROOM_SMS_ACCOUNT"],
        sms_secret_file=secret,
    )

    with open_gateway(settings) as gateway:
        ids = gateway.send("+4798765432", "Drill: hello")
        texts = gateway.inbound(wait_seconds=3, at_least=1)
    thread.join(timeout=10)

    assert settings.sms_host == "127.0.0.1"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(ids) == 1
    assert [(t.phone, t.text) for t in texts] == [("+4791234567", "HELP")]
    out = capsys.readouterr().out
    assert "1 message part(s) submitted so far" in out
    assert "Lab SMSC stopped; 1 part(s) were submitted." in out


def test_a_handset_text_without_a_number_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        run(["lab", "smsc", "--write", str(tmp_path / "x.env"), "--text", "HELP"])

    assert exit.value.code == 2
    assert "is not NUMBER:TEXT" in capsys.readouterr().err
    assert not (tmp_path / "x.env").exists()
