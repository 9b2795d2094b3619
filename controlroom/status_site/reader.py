"""Read a built status site back as the public would: by hash, from files.

The control room's preview and its "look up as the public would" box use
these, never the database, so what they show is what the host serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from controlroom.errors import StatusSiteError
from controlroom.orders.codes import format_code, normalise_code
from controlroom.status_site.build import SITE_FILE, is_bundle
from controlroom.status_site.hashing import prefix_of, record_key
from controlroom.status_site.records import ParcelRecord


@dataclass(frozen=True)
class BundleInfo:
    """What a built site says about itself in ``site.json``."""

    folder: Path
    generated_at: datetime
    stale_after: timedelta
    salt: str
    keep_days: int
    zone: str

    def is_stale(self, now: datetime) -> bool:
        """Tell whether a visitor at ``now`` sees the stale banner."""
        return now - self.generated_at > self.stale_after


@dataclass(frozen=True)
class LookupAnswer:
    """What a visitor who typed a code learns, and which file was read."""

    code: str
    group_file: str
    record: ParcelRecord | None


def read_bundle_info(folder: Path) -> BundleInfo | None:
    """Return what the site in ``folder`` says of itself; None if never built."""
    if not folder.exists():
        return None
    if not is_bundle(folder):
        raise StatusSiteError(
            f"{folder} does not hold a status site (no readable {SITE_FILE}); "
            "build it again.",
            folder=str(folder),
        )
    manifest = json.loads((folder / SITE_FILE).read_text(encoding="utf-8"))
    return BundleInfo(
        folder=folder,
        generated_at=datetime.fromisoformat(manifest["generated_at"]),
        stale_after=timedelta(seconds=int(manifest["stale_after_seconds"])),
        salt=str(manifest["salt"]),
        keep_days=int(manifest["keep_days"]),
        zone=str(manifest["zone"]),
    )


def look_up(info: BundleInfo, raw_code: str) -> LookupAnswer:
    """Find a code's record in the built files, as the page's script does.

    Raises
    ------
    PackageCodeError
        If the typed code is malformed or has a typo.
    """
    compact = normalise_code(raw_code)
    key = record_key(compact, info.salt)
    group_file = f"p/{prefix_of(key)}.json"
    try:
        records = json.loads((info.folder / group_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StatusSiteError(
            f"The built site in {info.folder} is missing or has a damaged "
            f"{group_file}; build it again.",
            folder=str(info.folder),
        ) from exc
    found = records.get(key)
    record = None if found is None else ParcelRecord(**found)
    return LookupAnswer(format_code(compact), group_file, record)


def preview_html(info: BundleInfo) -> str:
    """Return the built index page, self-contained, for an embedded preview.

    The stylesheet is inlined and the script and policy left out: inside
    the control room the page is shown, not used (the lookup box beside it
    runs the same lookup on the same files).
    """
    page = (info.folder / "index.html").read_text(encoding="utf-8")
    css = (info.folder / "site.css").read_text(encoding="utf-8")
    kept = [
        line
        for line in page.splitlines()
        if "Content-Security-Policy" not in line and "<script" not in line
    ]
    page = "\n".join(kept)
    page = page.replace(
        '<link rel="stylesheet" href="site.css">', f"<style>\n{css}</style>"
    )
    # The lookup form is hidden until the script shows it; the preview says
    # why instead of offering a form that does nothing.
    return page.replace(
        '<noscript><p class="note">',
        '<p class="note">(Preview: the lookup runs in visitors\' browsers; use '
        'the box beside this preview.)</p><noscript><p class="note">',
    )
