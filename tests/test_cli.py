"""The controlroom command: clear one-line errors, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from controlroom.cli import run
from controlroom.journal import append_event
from tests.conftest import DAY

CONTROLROOM = Path(sys.executable).parent / "controlroom"


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Invoke:
    """Run the command in-process through its entry point."""

    def call(*args: str) -> Outcome:
        with pytest.raises(SystemExit) as exit:
            run(list(args))
        captured = capsys.readouterr()
        return Outcome(int(exit.value.code or 0), captured.out, captured.err)

    return call


Invoke = Callable[..., Outcome]


def assert_one_line_error(outcome: Outcome, message: str) -> None:
    """Exit code 1 and a single readable line on stderr, no traceback."""
    assert outcome.code == 1
    assert "Traceback" not in outcome.err
    assert outcome.err.count("\n") == 1
    assert outcome.err.startswith("Error: ")
    assert message in outcome.err


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def journal_url(engine: Engine, sqlite_url: str) -> str:
    """A migrated SQLite database with three events in its journal."""
    for number in range(3):
        with Session(engine) as session, session.begin():
            append_event(
                session, kind="Seen", subject=f"x:{number}", actor="t", occurred_at=DAY
            )
    return sqlite_url


def test_upgrade_creates_a_database_that_checks_out(
    invoke: Invoke, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'cr.sqlite3'}"

    upgraded = invoke("db", "upgrade", "--database-url", url)
    checked = invoke("db", "check", "--database-url", url)

    assert (upgraded.code, checked.code) == (0, 0)
    assert "Database ready" in upgraded.out
    assert "Database OK" in checked.out


def test_a_missing_database_file(invoke: Invoke, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'absent.sqlite3'}"

    assert_one_line_error(
        invoke("db", "check", "--database-url", url), "does not exist"
    )


@pytest.mark.parametrize("command", [("db", "check"), ("journal", "verify")])
def test_a_corrupt_database_file(
    invoke: Invoke, tmp_path: Path, command: tuple[str, str]
) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"\x8f\x00not a database" * 500)

    outcome = invoke(*command, "--database-url", f"sqlite:///{path}")

    assert_one_line_error(outcome, "not a SQLite database or is damaged")


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "postgresql+psycopg://ops@127.0.0.1:port/db",
        "mysql://x@127.0.0.1/x",
    ],
)
def test_a_malformed_url(invoke: Invoke, url: str) -> None:
    outcome = invoke("db", "check", "--database-url", url)

    assert_one_line_error(outcome, "")
    assert "not a valid URL" in outcome.err or "Unsupported database" in outcome.err


def test_an_unreachable_postgresql_server(invoke: Invoke) -> None:
    url = f"postgresql+psycopg://ops:hunter2@127.0.0.1:{closed_port()}/controlroom"

    outcome = invoke("db", "check", "--database-url", url)

    assert_one_line_error(outcome, "Cannot reach the database")
    assert "hunter2" not in outcome.err


def test_a_database_not_yet_migrated(
    invoke: Invoke, sqlite_url: str, tmp_path: Path
) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "controlroom.sqlite3").close()

    outcome = invoke("journal", "verify", "--database-url", sqlite_url)

    assert_one_line_error(outcome, "Run 'controlroom db upgrade'")


def test_an_intact_journal_prints_its_head(invoke: Invoke, journal_url: str) -> None:
    outcome = invoke("journal", "verify", "--database-url", journal_url)

    assert outcome.code == 0
    assert "Journal intact: 3 events, head 3:" in outcome.out
    head = outcome.out.strip().rsplit(" ", 1)[-1]
    assert (
        invoke(
            "journal", "verify", "--database-url", journal_url, "--expect-head", head
        ).code
        == 0
    )


def test_a_broken_journal_names_the_event(
    invoke: Invoke, engine: Engine, journal_url: str
) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE journal_events SET actor = 'x' WHERE seq = 2"))

    outcome = invoke("journal", "verify", "--database-url", journal_url)

    assert_one_line_error(outcome, "broken at event 2: edited")


def test_a_cut_journal_is_caught_by_an_expected_head(
    invoke: Invoke, engine: Engine, journal_url: str
) -> None:
    head = invoke("journal", "verify", "--database-url", journal_url).out.split()[-1]
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM journal_events WHERE seq = 3"))
        connection.execute(
            text(
                "UPDATE journal_head SET seq = 2, hash = "
                "(SELECT hash FROM journal_events WHERE seq = 2)"
            )
        )

    intact = invoke("journal", "verify", "--database-url", journal_url)
    caught = invoke(
        "journal", "verify", "--database-url", journal_url, "--expect-head", head
    )

    assert intact.code == 0
    assert_one_line_error(caught, "broken at event 3: truncated")


@pytest.mark.parametrize(
    "head", ["", "12", "12:abc", "x:" + "a" * 64, "12:" + "z" * 64, ":" + "a" * 64]
)
def test_a_malformed_expected_head(invoke: Invoke, journal_url: str, head: str) -> None:
    outcome = invoke(
        "journal", "verify", "--database-url", journal_url, "--expect-head", head
    )

    assert_one_line_error(outcome, "--expect-head must look like 1234:<64 hex digits>")


def test_a_bad_setting_is_one_line(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROLROOM_REFRESH_SECONDS", "often")

    outcome = invoke("db", "check")

    assert_one_line_error(outcome, "CONTROLROOM_REFRESH_SECONDS")


def test_the_installed_command_reports_an_error_without_a_traceback(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'absent.sqlite3'}"

    finished = subprocess.run(
        [str(CONTROLROOM), "journal", "verify", "--database-url", url],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert finished.returncode == 1
    assert "Traceback" not in finished.stderr
    assert finished.stderr.startswith("Error: The database file")
    assert finished.stderr.count("\n") == 1


def test_fleet_settings_are_set_and_shown(invoke: Invoke, sqlite_url: str) -> None:
    invoke("db", "upgrade", "--database-url", sqlite_url)

    saved = invoke(
        "fleet", "set", "--speed-kmh", "12", "--shift", "07:00-17:30",
        "--latitude", "59.9", "--database-url", sqlite_url,
    )  # fmt: skip
    shown = invoke("fleet", "show", "--database-url", sqlite_url)

    assert (saved.code, shown.code) == (0, 0)
    # 110.57 km per degree of latitude at 12 km/h is 552.85 minutes.
    assert "Shift 07:00-17:30; 552.8 min per degree of latitude" in shown.out
    assert "(vans average 12.0 km/h)" in shown.out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--speed-kmh", "0", "--shift", "07:00-17:00"), "positive number of km/h"),
        (("--speed-kmh", "1e9", "--shift", "07:00-17:00"), "give 3 to 130"),
        (("--speed-kmh", "12", "--shift", "17:00-07:00"), "must end after it starts"),
        (("--speed-kmh", "12", "--shift", "7-17"), "is not a time like 07:00"),
        (("--speed-kmh", "12", "--shift", "07:00"), "written as start-end"),
        (("--speed-kmh", "12", "--shift", "07:00-17:00"), "give the city's --latitude"),
    ],
)
def test_bad_fleet_settings_get_one_clear_line(
    invoke: Invoke, sqlite_url: str, arguments: tuple[str, ...], message: str
) -> None:
    invoke("db", "upgrade", "--database-url", sqlite_url)

    outcome = invoke("fleet", "set", *arguments, "--database-url", sqlite_url)

    assert_one_line_error(outcome, message)
    assert_one_line_error(
        invoke("fleet", "show", "--database-url", sqlite_url), "no shift hours"
    )
