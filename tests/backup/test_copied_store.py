"""A copy of the store, its newest segment deleted: verify and restore must notice.

The database records the head it shipped to a store's location; a copy of
the store elsewhere has no such record, so the head kept from the original
is given with --expect-head.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine

from controlroom.backup.segments import SegmentManifest
from controlroom.backup.shipper import Shipper
from controlroom.backup.stores import LocalStore
from tests.backup.order_book import place_orders
from tests.test_cli import Invoke, assert_one_line_error


@pytest.fixture
def copied(
    engine: Engine, local_store: LocalStore, invoke: Invoke, tmp_path: Path
) -> tuple[Path, str, int]:
    """A snapshot and two segments shipped, the store copied, its newest cut.

    Returns the copy, the head the original store verified to, and the
    first event of the deleted segment.
    """
    place_orders(engine, 2)
    snapshot = invoke(
        "backup", "snapshot", "--store", local_store.location,
        "--database-url", str(engine.url),
    )  # fmt: skip
    assert snapshot.code == 0, snapshot.err
    place_orders(engine, 1, first=5)
    Shipper(engine, local_store).ship_once()
    verified = invoke(
        "backup", "verify", "--store", local_store.location,
        "--database-url", str(engine.url),
    )  # fmt: skip
    assert verified.code == 0, verified.err
    head = verified.out.split("head ", 1)[1].split(";", 1)[0].strip()

    copy = tmp_path / "copy"
    shutil.copytree(local_store.root, copy)
    for path in copy.rglob("*"):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    *_, newest = sorted((copy / "manifests").iterdir())
    cut = SegmentManifest.from_bytes(newest.read_bytes())
    (copy / cut.segment_key).unlink()
    newest.unlink()
    return copy, head, cut.first_seq


def test_verify_of_a_copy_warns_that_it_cannot_see_a_cut_tail(
    copied: tuple[Path, str, int], engine: Engine, invoke: Invoke
) -> None:
    copy, _, _ = copied

    outcome = invoke(
        "backup", "verify", "--store", str(copy), "--database-url", str(engine.url)
    )

    assert outcome.code == 0  # on its own the copy holds together...
    assert "has no record of shipping" in outcome.err  # ...and we say why that's weak
    assert "--expect-head" in outcome.err


def test_verify_with_the_kept_head_names_the_cut_tail(
    copied: tuple[Path, str, int], engine: Engine, invoke: Invoke
) -> None:
    copy, head, first_cut = copied

    outcome = invoke(
        "backup", "verify", "--store", str(copy), "--database-url", str(engine.url),
        "--expect-head", head,
    )  # fmt: skip

    assert outcome.code == 1
    assert f"truncated: the store ends at event {first_cut - 1}" in outcome.err
    assert "Traceback" not in outcome.err


def test_restore_with_the_kept_head_refuses_the_cut_copy(
    copied: tuple[Path, str, int], invoke: Invoke, tmp_path: Path
) -> None:
    copy, head, _ = copied
    target = tmp_path / "restored.sqlite3"

    outcome = invoke(
        "backup", "restore", "--to", f"sqlite:///{target}", "--store", str(copy),
        "--expect-head", head,
    )  # fmt: skip

    assert outcome.code == 1
    assert "truncated: the store ends at event" in outcome.err
    assert "Traceback" not in outcome.err
    assert not target.exists()


def test_a_mistyped_store_is_named_and_not_created(
    engine: Engine, invoke: Invoke, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-store"

    verify = invoke(
        "backup", "verify", "--store", str(missing), "--database-url", str(engine.url)
    )
    restore = invoke(
        "backup", "restore", "--to", f"sqlite:///{tmp_path / 'r.sqlite3'}",
        "--store", str(missing),
    )  # fmt: skip

    assert_one_line_error(verify, f"There is no backup folder at {missing}")
    assert_one_line_error(restore, f"There is no backup folder at {missing}")
    assert not missing.exists()


def test_a_restore_into_a_missing_folder_is_refused(
    local_store: LocalStore, invoke: Invoke, tmp_path: Path
) -> None:
    target = tmp_path / "typo" / "restored.sqlite3"

    outcome = invoke(
        "backup", "restore", "--to", f"sqlite:///{target}",
        "--store", local_store.location,
    )  # fmt: skip

    assert_one_line_error(outcome, "There is no folder")
    assert not target.parent.exists()
