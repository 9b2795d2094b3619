"""``controlroom status-site build``: counts on success, one line on refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from controlroom.cli import run
from controlroom.status_site.reader import look_up, read_bundle_info
from tests.status_site.conftest import StatusDay


@pytest.fixture
def site_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings of the test's own: its data folder, zone and a fixed salt."""
    monkeypatch.setenv("CONTROLROOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONTROLROOM_TIMEZONE", "Europe/Oslo")
    monkeypatch.setenv("CONTROLROOM_STATUS_SITE_SALT", "cli-test-salt-0123456789")
    monkeypatch.delenv("CONTROLROOM_DATABASE_URL", raising=False)


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit:
        run(list(args))
    captured = capsys.readouterr()
    return int(exit.value.code or 0), captured.out, captured.err


def test_the_build_command_writes_the_site_and_says_what_it_wrote(
    engine: Engine,
    sqlite_url: str,
    status_day: StatusDay,
    site_settings: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "public" / "site"

    code, printed, _ = invoke(
        capsys, "status-site", "build", "--out", str(out), "--database-url", sqlite_url
    )

    assert code == 0
    assert "Status site written to" in printed
    assert "264 files, 5 services, 1 incident(s), 6 parcel record(s)" in printed
    assert "generated Fri 4 Dec 2026, 13:00 CET" in printed
    info = read_bundle_info(out)
    assert info is not None
    assert info.salt == "cli-test-salt-0123456789"
    assert look_up(info, status_day.codes["P3"].lower()).record is not None


def test_the_build_command_refuses_a_folder_of_other_files(
    engine: Engine,
    sqlite_url: str,
    site_settings: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "letter.txt").write_text("keep me")

    code, _, err = invoke(
        capsys,
        "status-site",
        "build",
        "--out",
        str(tmp_path / "docs"),
        "--database-url",
        sqlite_url,
    )

    assert code == 1
    assert err.startswith("Error: ") and err.count("\n") == 1
    assert "already holds other files and no status site" in err
    assert (tmp_path / "docs" / "letter.txt").read_text() == "keep me"


def test_without_out_the_site_goes_where_the_app_previews_it(
    engine: Engine,
    sqlite_url: str,
    status_day: StatusDay,
    site_settings: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, printed, _ = invoke(
        capsys, "status-site", "build", "--database-url", sqlite_url
    )

    assert code == 0
    assert read_bundle_info(tmp_path / "data" / "status-site") is not None
    assert "status-site" in printed
