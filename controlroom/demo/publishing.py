"""What the simulator sends out: SMS through its own SMSC, and the status site.

The demo has no SMS operator, so the simulator hosts one, as it hosts the
lab payment nodes (:mod:`controlroom.demo.chain`): the lab SMSC of
:mod:`controlroom.messaging.smsc_lab` on 127.0.0.1 on a port the OS
chooses, and an SMPP client bound to it. Every few simulated minutes the
outbox runs a round against it (:func:`controlroom.broadcasts.outbox.
run_round`): queued texts go out and their delivery receipts come back.
The personal phones of the drivers the story names "switched off" get
UNDELIV receipts, so their texts are retried and then flagged for a
person. None of this touches the SMS gateway settings: real use keeps its
default of no gateway; this SMSC is the simulator's own.

The status site is rebuilt into the folder its preview page reads
whenever an incident or a component changed, and at every round.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from controlroom.broadcasts.outbox import RoundReport, run_round
from controlroom.config import Settings
from controlroom.demo.driver_texts import driver_by_callsign
from controlroom.demo.parameters import DemoWorld
from controlroom.journal.models import JournalEvent
from controlroom.messaging.smpp_gateway import SmppGateway
from controlroom.messaging.smsc_lab import LabSmsc
from controlroom.status_site.actions import site_folder
from controlroom.status_site.build import build_status_site, site_options

logger = logging.getLogger(__name__)

ROUND_EVERY = timedelta(minutes=10)
# The lab SMSC sends each receipt right after its submit_sm_resp; the wait
# only covers the hop over the loopback.
RECEIPT_WAIT_SECONDS = 2.0
SMSC_TIMEOUT_SECONDS = 5.0


def next_round(world: DemoWorld, moment: datetime) -> datetime:
    """Return the first outbox round after ``moment``: a fixed simulated grid."""
    start = world.plan.sim_start
    passed = max(0, (moment - start) // ROUND_EVERY)
    return start + (passed + 1) * ROUND_EVERY


def is_round(world: DemoWorld, moment: datetime) -> bool:
    """Whether an outbox round is due at exactly ``moment``."""
    return (moment - world.plan.sim_start) % ROUND_EVERY == timedelta(0)


class DemoSmsc:
    """The simulator's lab SMSC and the SMPP client bound to it.

    Use it as a context manager: the SMSC listens only while the
    simulation runs.
    """

    def __init__(self, engine: Engine, world: DemoWorld) -> None:
        self.engine = engine
        password = secrets.token_hex(4)  # SMPP 3.4 allows 8 characters
        self.smsc = LabSmsc(system_id="cpdemo", password=password)
        self.smsc.faults.switched_off = self._switched_off(world)
        self.gateway = SmppGateway(
            "127.0.0.1",
            self.smsc.port,
            system_id=self.smsc.system_id,
            password=password,
            timeout_seconds=SMSC_TIMEOUT_SECONDS,
        )

    def _switched_off(self, world: DemoWorld) -> frozenset[str]:
        with Session(self.engine) as session:
            phones = [
                driver_by_callsign(session, callsign).party.phone
                for callsign in world.story.switched_off
            ]
        return frozenset("".join(c for c in p if c.isdigit()) for p in phones if p)

    def __enter__(self) -> DemoSmsc:
        self.smsc.start()
        try:
            self.gateway.connect()
        except BaseException:
            self.smsc.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            self.gateway.close()
        finally:
            self.smsc.stop()

    def run_round(self, at: datetime) -> RoundReport:
        """Send what is queued and apply the receipts that come back."""
        report = run_round(
            self.engine, self.gateway, at=at, wait_seconds=RECEIPT_WAIT_SECONDS
        )
        if report.sent or report.failed or report.problems:
            logger.info(
                "demo outbox round at=%s sent=%s delivered=%s retried=%s "
                "failed=%s problems=%s",
                at.isoformat(),
                report.sent,
                report.delivered,
                report.retried,
                report.failed,
                report.problems,
            )
        return report


class SiteBuilder:
    """Rebuilds the status site when the public picture may have changed."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.folder = site_folder(settings)
        self.options = site_options(settings)
        self._seen: int | None = None
        self.builds = 0

    def build(self, at: datetime, *, force: bool) -> bool:
        """Build the site at ``at`` if forced or an incident or component changed."""
        with Session(self.engine) as session:
            mark = session.scalar(
                select(func.max(JournalEvent.seq)).where(
                    or_(
                        JournalEvent.subject.like("incident:%"),
                        JournalEvent.subject.like("component:%"),
                    )
                )
            )
            if not force and self.builds and mark == self._seen:
                return False
            build_status_site(session, out=self.folder, options=self.options, at=at)
        self._seen = mark
        self.builds += 1
        return True
