"""What the Status site screen does: build now, and read the last build."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.clock import operating_now
from controlroom.config import Settings
from controlroom.db import read_only
from controlroom.status_site.build import BuildReport, build_status_site, site_options
from controlroom.status_site.reader import BundleInfo, read_bundle_info
from controlroom.status_site.records import local_minute

SITE_FOLDER = "status-site"


def site_folder(settings: Settings) -> Path:
    """Return where the control room builds the site: the data folder's own."""
    return settings.data_dir / SITE_FOLDER


def build_site_now(engine: Engine, *, settings: Settings) -> BuildReport:
    """Build the site into the data folder at the operating clock's time."""
    with Session(engine) as session, session.begin():
        return build_status_site(
            session,
            out=site_folder(settings),
            options=site_options(settings),
            at=operating_now(session),
        )


def build_message(report: BuildReport, *, zone: str) -> str:
    """Say what a build wrote, in one line."""
    return (
        f"Status site built at {local_minute(report.generated_at, zone)}: "
        f"{report.files} files, {report.records} parcel record(s), "
        f"{report.incidents} incident(s) in {report.folder}."
    )


@dataclass(frozen=True)
class SiteState:
    """The last build as the screen shows it."""

    folder: Path
    now: datetime
    info: BundleInfo | None

    @property
    def stale(self) -> bool:
        """Whether a visitor now sees the stale banner (or nothing was built)."""
        return self.info is None or self.info.is_stale(self.now)

    def age_minutes(self) -> int | None:
        """Whole minutes since the last build, if there was one."""
        if self.info is None:
            return None
        return max(0, int((self.now - self.info.generated_at).total_seconds() // 60))


def site_state(engine: Engine, *, settings: Settings) -> SiteState:
    """Read the last build's own account of itself and the operating time."""
    with Session(read_only(engine)) as session:
        now = operating_now(session)
    folder = site_folder(settings)
    return SiteState(folder=folder, now=now, info=read_bundle_info(folder))
