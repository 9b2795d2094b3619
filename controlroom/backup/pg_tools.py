"""PostgreSQL's own tools, run for the backup: where they are and how to call them.

The client tools (``pg_basebackup``, ``pg_verifybackup``) run as whoever
runs the control room. The server refuses to run as root, so when we are
root, ``pg_ctl`` and anything that touches a data folder the server owns
run as the ``postgres`` user through ``runuser``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy.engine import make_url

from controlroom.config import Settings
from controlroom.db import _hosts_as_query, describe_url
from controlroom.errors import BackupError

SERVER_USER = "postgres"
_TOOLS_ROOT = Path("/usr/lib/postgresql")


def find_pg_bin(settings: Settings) -> Path:
    """The folder with the PostgreSQL tools: the setting, the newest, or PATH."""
    if settings.pg_bin is not None:
        if not (settings.pg_bin / "pg_basebackup").exists():
            raise BackupError(
                f"CONTROLROOM_PG_BIN={settings.pg_bin} holds no pg_basebackup; "
                "point it at PostgreSQL's bin folder."
            )
        return settings.pg_bin
    if _TOOLS_ROOT.is_dir():
        versions = sorted(
            (p for p in _TOOLS_ROOT.iterdir() if (p / "bin" / "pg_ctl").exists()),
            key=lambda p: int(p.name) if p.name.isdigit() else 0,
            reverse=True,
        )
        if versions:
            return versions[0] / "bin"
    found = shutil.which("pg_basebackup")
    if found is None:
        raise BackupError(
            "PostgreSQL's tools (pg_basebackup, pg_verifybackup, pg_ctl) are not "
            "installed; install the postgresql package or set CONTROLROOM_PG_BIN."
        )
    return Path(found).parent


def as_server_user(argv: Sequence[str]) -> list[str]:
    """``argv`` run as the postgres user when we are root, else as is."""
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *argv]
    return list(argv)


def give_to_server_user(folder: Path) -> None:
    """Hand a folder and everything in it to the postgres user (when root)."""
    if os.geteuid() != 0:
        return
    for path in (folder, *folder.rglob("*")):
        shutil.chown(path, user=SERVER_USER, group=SERVER_USER)


def run_tool(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, what: str
) -> str:
    """Run one tool; BackupError with the end of its output when it fails."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            check=False,
        )
    except OSError as exc:
        raise BackupError(f"Cannot run {argv[0]} to {what}: {exc.strerror}.") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        tail = " / ".join(said[-3:]) or f"exit code {done.returncode}"
        raise BackupError(f"{Path(argv[0]).name} failed to {what}: {tail}")
    return done.stdout


def libpq_connection(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for ``url`` and the environment with its password.

    The password goes to ``PGPASSWORD`` so it never shows in a process list.
    """
    parsed = make_url(_hosts_as_query(url))
    if parsed.get_backend_name() != "postgresql":
        raise BackupError(f"{describe_url(url)} is not a PostgreSQL database URL.")
    hosts = parsed.query.get("host")
    parts: dict[str, str] = {}
    if parsed.host:
        parts["host"] = parsed.host
        if parsed.port:
            parts["port"] = str(parsed.port)
    elif isinstance(hosts, tuple):
        names = [entry.partition(":") for entry in hosts]
        parts["host"] = ",".join(name for name, _, _ in names)
        parts["port"] = ",".join(port or "5432" for _, _, port in names)
    if parsed.username:
        parts["user"] = parsed.username
    if parsed.database:
        parts["dbname"] = parsed.database
    for name in ("target_session_attrs", "connect_timeout", "sslmode"):
        value = parsed.query.get(name)
        if isinstance(value, str):
            parts[name] = value
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    text = " ".join(f"{key}={_quoted(value)}" for key, value in parts.items())
    return text, {str(k): str(v) for k, v in env.items()}


def _quoted(value: str) -> str:
    # libpq's conninfo quoting: single quotes, backslash-escaped.
    if value and all(c.isalnum() or c in "._-,:/" for c in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def controlroom_command(settings: Settings) -> list[str]:
    """How the server's archive_command calls this control room.

    The ``controlroom`` script beside the running Python, unless
    CONTROLROOM_PG_CONTROLROOM_COMMAND says otherwise (the postgres user must
    be able to run it: a virtual environment under a private home folder is
    out of its reach).
    """
    if settings.pg_controlroom_command:
        return shlex.split(settings.pg_controlroom_command)
    script = Path(sys.executable).parent / "controlroom"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from controlroom.cli import run; run()"]


def shell_words(argv: Sequence[str]) -> str:
    """``argv`` as one shell command line, for a server setting."""
    return " ".join(shlex.quote(word) for word in argv)


def archive_settings(settings: Settings, location: str) -> list[str]:
    """The postgresql.conf lines that archive WAL into the store at ``location``.

    ``archive_timeout`` closes a quiet segment after a minute, so the WAL
    archive is never more than that behind (the journal's own shipping
    keeps within about a second).
    """
    push = [*controlroom_command(settings), "backup", "wal-push", "--store"]
    command = shell_words([*push, location]) + " %p %f"
    quoted = command.replace("'", "''")  # a single-quoted setting value
    return [
        "wal_level = replica",
        "archive_mode = on",
        f"archive_command = '{quoted}'",
        "archive_timeout = 60",
    ]
