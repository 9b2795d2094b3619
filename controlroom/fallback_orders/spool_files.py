"""The spool's files on disk: owner-only, written durably, read back as lines.

Every write is ``fsync``'d before it returns, and a new file's folder is
synced too, so a name and its content survive a power cut together
(POSIX: a new directory entry is durable only once the directory is).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from controlroom.errors import FallbackOrderError
from controlroom.fallback_orders.chain import GENESIS_HASH

logger = logging.getLogger(__name__)

SPOOL_FORMAT = "cryptopack-fallback-spool/1"
SPOOL_FILE = "spool.json"
HEAD_FILE = "head.json"
LOCK_FILE = ".lock"
SEGMENT_NAME = re.compile(r"[0-9]{6}\.jsonl")
PRIVATE_FILE = 0o600
SEALED_FILE = 0o400


def private_folder(folder: Path) -> Path:
    if folder.exists() and not folder.is_dir():
        raise FallbackOrderError(
            f"{folder} is a file, not a folder; give the spool a folder of its own."
        )
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
    except OSError as exc:
        raise FallbackOrderError(
            f"Cannot use {folder} as the fallback spool ({exc.strerror}); "
            "give a folder you can write to."
        ) from exc
    return folder


def create_identity(folder: Path) -> None:
    if any(SEGMENT_NAME.fullmatch(path.name) for path in folder.iterdir()):
        raise FallbackOrderError(
            f"{folder} holds spool segments but no {SPOOL_FILE}: it was "
            "damaged. Keep it for investigation and spool into a new folder."
        )
    identity = {
        "format": SPOOL_FORMAT,
        "spool_id": secrets.token_hex(16),
        "created_at": datetime.now(UTC).isoformat(),
    }
    replace_file(folder / SPOOL_FILE, json.dumps(identity, indent=2) + "\n")
    sync_folder(folder)
    logger.info("fallback spool created folder=%s", folder)


def read_identity(folder: Path) -> str:
    path = folder / SPOOL_FILE
    try:
        identity = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FallbackOrderError(
            f"{folder} is not a fallback spool (it has no {SPOOL_FILE})."
        ) from None
    except (OSError, ValueError) as exc:
        raise FallbackOrderError(f"Cannot read {path}: {exc}") from exc
    if not isinstance(identity, dict) or identity.get("format") != SPOOL_FORMAT:
        raise FallbackOrderError(f"{path} is not the identity of a fallback spool.")
    return str(identity["spool_id"])


def read_head(folder: Path) -> tuple[int, str]:
    try:
        raw = json.loads((folder / HEAD_FILE).read_text(encoding="utf-8"))
        return int(raw["seq"]), str(raw["hash"])
    except FileNotFoundError:
        return 0, GENESIS_HASH
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FallbackOrderError(
            f"The spool's head file {folder / HEAD_FILE} cannot be read ({exc}); "
            "it was damaged. Keep the folder for investigation."
        ) from exc


def segment_lines(folder: Path) -> Iterator[tuple[str, bool]]:
    """Yield every line of every segment in order, and whether it is whole."""
    segments = sorted(p for p in folder.iterdir() if SEGMENT_NAME.fullmatch(p.name))
    for segment in segments:
        text = segment.read_bytes().decode("utf-8", errors="replace")
        for line in text.splitlines(keepends=True):
            yield line, line.endswith("\n")


def drop_unfinished_tail(folder: Path) -> None:
    # A line cut off after the head was never acknowledged (the head is
    # written after the record's fsync), so no customer was told of it.
    segments = sorted(p for p in folder.iterdir() if SEGMENT_NAME.fullmatch(p.name))
    last = segments[-1]
    content = last.read_bytes()
    keep = content.rfind(b"\n") + 1
    with open(last, "r+b") as handle:
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    logger.warning(
        "fallback spool unfinished record dropped folder=%s bytes=%d",
        folder,
        len(content) - keep,
    )


def append(segment: Path, text: str) -> None:
    created = not segment.exists()
    descriptor = os.open(segment, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
    try:
        os.write(descriptor, text.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if created:
        sync_folder(segment.parent)


def write_head(folder: Path, head: tuple[int, str]) -> None:
    seq, digest = head
    replace_file(folder / HEAD_FILE, json.dumps({"seq": seq, "hash": digest}) + "\n")


def replace_file(path: Path, text: str) -> None:
    staging = path.with_name(path.name + ".new")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.write(descriptor, text.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(staging, path)


def sync_folder(folder: Path) -> None:
    # A new file's name is durable only once its folder is synced (POSIX).
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
