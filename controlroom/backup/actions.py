"""What people may do about the backup from the Backups and fail-over screen."""

from __future__ import annotations

from sqlalchemy import Engine

from controlroom.auth.models import Role
from controlroom.backup.service import verify_and_record
from controlroom.backup.stores import open_store
from controlroom.config import Settings
from controlroom.errors import BackupBroken
from controlroom.session_frame import SignedInUser, require_role

VERIFIERS = frozenset({Role.MANAGEMENT, Role.OPS})


def verify_now(engine: Engine, *, settings: Settings, user: SignedInUser) -> str:
    """Verify the configured store now and record it; say what was found.

    Raises
    ------
    BackupBroken
        The store does not hold: the message names the first problem.
    """
    require_role(user, VERIFIERS, "verify the backup")
    store = open_store(settings)
    try:
        report = verify_and_record(engine, store)
    finally:
        store.close()
    if report.problem is not None:
        raise BackupBroken(
            f"The backup at {report.location} does not hold: {report.problem}",
            key=report.problem.key,
            seq=report.problem.seq,
        )
    seq, _ = report.head
    return (
        f"Backup intact at {report.location}: {report.segments} segment(s), "
        f"events 1..{seq}."
    )
