"""Build the status-site bundle and put it in its folder in one step.

The bundle is a pure function of the snapshot: the same data and clock give
the same bytes (sorted keys, fixed names, no build-time randomness), so a
diff of two builds shows what changed for the public and nothing else.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from sqlalchemy.orm import Session

from controlroom.config import Settings
from controlroom.errors import StatusSiteError
from controlroom.static_folder import replace_folder
from controlroom.status_site.hashing import all_prefixes, prefix_of, site_salt
from controlroom.status_site.records import ParcelRecord
from controlroom.status_site.render import render_index, utc_stamp
from controlroom.status_site.snapshot import SiteOptions, SiteSnapshot, read_snapshot

logger = logging.getLogger(__name__)

SITE_FORMAT = "cryptopack-status-site/1"
SITE_FILE = "site.json"
STATIC_ASSETS = ("site.css", "site.js")
HOSTING_FILES = ("README.md", "nginx.conf", "torrc")
ROBOTS = "User-agent: *\nDisallow: /\n"


@dataclass(frozen=True)
class BuildReport:
    """What one build wrote, for the command line and the page."""

    folder: Path
    generated_at: datetime
    files: int
    services: int
    incidents: int
    records: int


def site_options(settings: Settings) -> SiteOptions:
    """Return how to build the site under ``settings``."""
    return SiteOptions(
        zone=settings.timezone,
        salt=site_salt(settings),
        stale_after=timedelta(minutes=settings.status_site_stale_minutes),
        keep_days=settings.status_site_days,
    )


def _asset(*parts: str) -> bytes:
    return (
        resources.files("controlroom.status_site")
        .joinpath("assets", *parts)
        .read_bytes()
    )


def _group_file(records: dict[str, ParcelRecord]) -> bytes:
    # One record per line, keys sorted: a diff of two builds is one line
    # per parcel that changed.
    lines = [
        json.dumps(key) + ": " + json.dumps(record.as_json(), sort_keys=True)
        for key, record in sorted(records.items())
    ]
    body = ",\n".join(lines)
    return ("{\n" + body + "\n}\n" if lines else "{}\n").encode("utf-8")


def site_manifest(snapshot: SiteSnapshot) -> dict[str, object]:
    """Return what ``site.json`` says: when, how stale, the salt and format."""
    return {
        "format": SITE_FORMAT,
        "generated_at": utc_stamp(snapshot.generated_at),
        "stale_after_seconds": int(snapshot.options.stale_after.total_seconds()),
        "salt": snapshot.options.salt,
        "prefix_digits": len(all_prefixes()[0]),
        "keep_days": snapshot.options.keep_days,
        "zone": snapshot.options.zone,
    }


def bundle_files(snapshot: SiteSnapshot) -> dict[str, bytes]:
    """Return every file of the bundle by its path inside the folder."""
    groups: dict[str, dict[str, ParcelRecord]] = {p: {} for p in all_prefixes()}
    for key, record in snapshot.records.items():
        groups[prefix_of(key)][key] = record

    files = {
        "index.html": render_index(snapshot).encode("utf-8"),
        SITE_FILE: (
            json.dumps(site_manifest(snapshot), indent=2, sort_keys=True) + "\n"
        ).encode("utf-8"),
        "robots.txt": ROBOTS.encode("ascii"),
    }
    for name in STATIC_ASSETS:
        files[name] = _asset(name)
    for name in HOSTING_FILES:
        files[f"hosting/{name}"] = _asset("hosting", name)
    # Every group file exists, empty or not: a visitor's request for a group
    # with no record looks, in the host's log, like any other.
    for prefix, records in groups.items():
        files[f"p/{prefix}.json"] = _group_file(records)
    return dict(sorted(files.items()))


def check_out_folder(out: Path) -> Path:
    """Return ``out`` as an absolute path if a build may replace it, else raise."""
    folder = out.expanduser().absolute()
    shown = str(folder)
    if folder.is_symlink():
        raise StatusSiteError(
            f"{shown} is a symbolic link; give the folder it points to, so the "
            "build can replace it in one step.",
            folder=shown,
        )
    if folder.exists() and not folder.is_dir():
        raise StatusSiteError(
            f"{shown} is a file, not a folder; choose a new or empty folder for "
            "the status site.",
            folder=shown,
        )
    if folder.parent == folder or folder == Path.home():
        raise StatusSiteError(
            f"{shown} cannot hold the status site: a build replaces the whole "
            "folder. Choose a folder of its own, e.g. ./status-site.",
            folder=shown,
        )
    if folder.is_dir() and any(folder.iterdir()) and not is_bundle(folder):
        raise StatusSiteError(
            f"{shown} already holds other files and no status site; a build "
            "replaces the whole folder, so choose a new or empty one.",
            folder=shown,
        )
    return folder


def is_bundle(folder: Path) -> bool:
    """Tell whether ``folder`` holds a status site an earlier build wrote."""
    try:
        manifest = json.loads((folder / SITE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == SITE_FORMAT


def write_bundle(files: dict[str, bytes], out: Path) -> Path:
    """Write ``files`` to a new folder beside ``out``, then swap it in."""
    folder = check_out_folder(out)
    replace_folder(
        files,
        folder,
        cannot_stage=lambda exc: StatusSiteError(
            f"Cannot write next to {folder} ({exc.strerror}); choose a folder "
            "you can write to.",
            folder=str(folder),
        ),
    )
    logger.info("status site written folder=%s files=%d", folder, len(files))
    return folder


def build_status_site(
    session: Session, *, out: Path, options: SiteOptions, at: datetime
) -> BuildReport:
    """Read what the public may see at ``at`` and write the site to ``out``."""
    check_out_folder(out)
    snapshot = read_snapshot(session, now=at, options=options)
    files = bundle_files(snapshot)
    folder = write_bundle(files, out)
    return BuildReport(
        folder=folder,
        generated_at=at,
        files=len(files),
        services=len(snapshot.services),
        incidents=len(snapshot.incidents),
        records=len(snapshot.records),
    )
