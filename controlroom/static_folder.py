"""Writing a folder of static files that a web server reads while we write.

The status site and the fallback order page are both pre-built folders a
static host serves. A build writes a whole new folder beside the old one
and swaps it in with two renames in one file system, so a server sees the
old build or the new one, never half of one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def replace_folder(
    files: dict[str, bytes],
    folder: Path,
    *,
    cannot_stage: Callable[[OSError], Exception],
) -> None:
    """Write ``files`` (relative path -> bytes) as the new ``folder``.

    ``cannot_stage`` turns the error of creating the staging folder beside
    ``folder`` into the caller's own; a failure later removes the staging
    folder and is raised as it is.
    """
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{folder.name}.building-", dir=folder.parent)
        )
    except OSError as exc:
        raise cannot_stage(exc) from exc
    try:
        for name, content in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            path.chmod(0o644)  # a web server's user must read what we write
        for path in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
            path.chmod(0o755)
        _swap(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap(staging: Path, folder: Path) -> None:
    # The old build is moved aside, the new one takes its name; for an
    # instant there is none.
    if not folder.exists():
        staging.rename(folder)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
    os.rename(folder, retired / "previous")
    staging.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)
