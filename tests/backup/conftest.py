"""Backup stores to ship to: a local folder, and S3 on a moto server.

The S3 tests run moto's server on 127.0.0.1 on a free port, and the client
is always given that endpoint and dummy keys: nothing here can reach AWS,
and AWS's own configuration files and metadata address are switched off.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import Engine

from controlroom.backup.s3_store import S3Store, create_locked_bucket, s3_client
from controlroom.backup.stores import BackupStore, LocalStore
from controlroom.cli import run
from tests.journal.tampering import append_numbered
from tests.test_cli import Invoke, Outcome

RETENTION_DAYS = 30
_BUCKETS = count(1)
_AWS_SAFETY = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 for the session; its endpoint URL."""
    saved = {name: os.environ.get(name) for name in _AWS_SAFETY}
    os.environ.update(_AWS_SAFETY)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    assert host == "127.0.0.1"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def locked_bucket(moto_endpoint: str) -> Iterator[S3Store]:
    """A new bucket with versioning and a 30-day compliance default lock."""
    client = s3_client(
        endpoint_url=moto_endpoint,
        region="us-east-1",
        access_key_id="lab-key",
        secret_access_key="lab-secret",
    )
    bucket = f"controlroom-backup-{next(_BUCKETS)}"
    create_locked_bucket(client, bucket=bucket, days=RETENTION_DAYS)
    store = S3Store(
        client, bucket=bucket, prefix="journal/", retention_days=RETENTION_DAYS
    )
    yield store
    store.close()


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    """An empty local backup folder with a 30-day retention."""
    return LocalStore(tmp_path / "backup", retention_days=RETENTION_DAYS)


@pytest.fixture(params=["local", "s3"])
def any_store(request: pytest.FixtureRequest) -> BackupStore:
    """An empty store, once local and once S3 (moto)."""
    name = "local_store" if request.param == "local" else "locked_bucket"
    store: BackupStore = request.getfixturevalue(name)
    return store


@pytest.fixture
def journal_of_ten(engine: Engine) -> Engine:
    """A migrated SQLite database whose journal holds ten events."""
    append_numbered(engine, 10)
    return engine


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Invoke:
    """Run the command in-process through its entry point."""

    def call(*args: str) -> Outcome:
        with pytest.raises(SystemExit) as exit:
            run(list(args))
        captured = capsys.readouterr()
        return Outcome(int(exit.value.code or 0), captured.out, captured.err)

    return call
