"""Backups and fail-over: the streaming backup, the cluster, the fallback channels."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from controlroom.availability.board import MemberRow, availability_board
from controlroom.backup.actions import VERIFIERS, verify_now
from controlroom.backup.board import BackupBoard, archiver_summary, backup_board
from controlroom.backup.schedule import ScheduleState, schedule_board
from controlroom.errors import ControlRoomError
from controlroom.fallback_orders.actions import spool_folder
from controlroom.fallback_orders.board import FallbackBoard, fallback_board
from controlroom.session_frame import Frame, error_markdown, frame_of, short_time

MESSAGE_KEY = "backups_message"


def backup_section(frame: Frame, board: BackupBoard) -> None:
    st.subheader("Streaming backup")
    if not board.shipping_started:
        st.warning(
            f"Nothing has been shipped to `{board.location}` yet. Run "
            "`controlroom backup ship` beside the control room: it ships every "
            "new journal event within about a second."
        )
    elif board.alarm:
        st.error(f"**Backup alarm.** {board.alarm}", icon=":material/error:")
    lag = board.lag
    left, middle, right = st.columns(3)
    left.metric(
        "Shipped up to event",
        f"{board.shipped_seq:,}",
        help=f"The journal's head is event {board.head_seq:,}.",
    )
    middle.metric(
        "Behind the journal",
        f"{lag.events:,} event{'' if lag.events == 1 else 's'}",
        f"{lag.seconds:.0f} s" if lag.events else None,
        delta_color="inverse",
        help=f"An alarm is raised past {board.lag_alarm_seconds:.0f} s.",
    )
    right.metric(
        "Last shipped (machine clock)",
        short_time(board.shipped_at, frame.zone) or "never",
    )
    if board.failing_since is not None:
        st.error(
            f"The store has refused writes since "
            f"{short_time(board.failing_since, frame.zone)}: {board.last_error}"
        )

    retention = board.retention
    if retention.ok is False:
        st.error(f"**Retention check failed.** {retention.detail}")
    elif retention.ok:
        st.caption(
            f"Store `{board.location}` ({board.store_kind}): write-once, kept "
            f"{retention.configured_days} days; checked "
            f"{short_time(retention.checked_at, frame.zone)}."
        )
    else:
        st.caption(f"Store `{board.location}` ({board.store_kind}).")

    check = board.last_verification
    if check is None:
        st.info("The backup has never been verified.")
    elif check.ok:
        st.success(
            f"Verified {short_time(check.at, frame.zone)}: {check.segments} "
            f"segment(s), {check.events:,} events, in {check.seconds:.1f} s."
        )
    else:
        st.error(
            f"**Verification {short_time(check.at, frame.zone)} failed** at "
            f"{check.problem_key}: {check.problem}"
        )
    if frame.user.role in VERIFIERS and st.button("Verify now"):
        try:
            message = verify_now(frame.engine, settings=frame.settings, user=frame.user)
        except ControlRoomError as exc:
            st.error(error_markdown(exc))
            return
        st.session_state[MESSAGE_KEY] = message
        st.rerun()
    if board.recent_shipments:
        with st.expander("Latest segments shipped"):
            st.dataframe(
                pd.DataFrame(
                    {
                        "Events": f"{s.first_seq:,}–{s.last_seq:,}",
                        "Bytes": s.size,
                        "Shipped": short_time(s.shipped_at, frame.zone),
                    }
                    for s in board.recent_shipments
                ),
                hide_index=True,
            )


def wal_archive_line(frame: Frame, board: BackupBoard) -> None:
    if board.wal_archive is None:
        return  # SQLite: the journal segments above are the whole backup
    level, words = archiver_summary(board.wal_archive, frame.zone)
    if level == "error":
        st.error(f"**{words}**", icon=":material/error:")
    elif level == "warning":
        st.warning(words)
    else:
        st.caption(words)


def schedule_section(frame: Frame, schedule: ScheduleState | None) -> None:
    if schedule is None:
        st.warning(
            "The backup store cannot be listed, so when the next snapshot and "
            "drill are due is unknown; see the backup alarm above."
        )
        return
    for problem in schedule.problems:
        st.warning(
            f"**Schedule behind.** {problem} Run `controlroom backup schedule` "
            "beside the control room."
        )
    zone = frame.zone
    snapshot_at = short_time(schedule.last_snapshot_at, zone) or "never"
    drill_at = short_time(schedule.last_passed_drill_at, zone) or "never"
    st.caption(
        f"Snapshot: last {snapshot_at}, next due "
        f"{short_time(schedule.snapshot_due_at, zone)}. Restore drill: last passed "
        f"{drill_at}, next due {short_time(schedule.drill_due_at, zone)}. "
        f"`controlroom backup schedule` takes a snapshot every "
        f"{frame.settings.backup_snapshot_every_minutes:g} min and runs a drill "
        f"every {frame.settings.backup_drill_every_hours:g} h."
    )


def drills_section(frame: Frame, board: BackupBoard) -> None:
    st.subheader("Restore drills")
    if not board.drills:
        st.caption(
            "No restore drill recorded yet: run `controlroom backup drill restore`."
        )
        return
    st.dataframe(
        pd.DataFrame(
            {
                "When": short_time(d.at, frame.zone),
                "Kind": d.kind,
                "Seconds": round(d.seconds, 2),
                "Lost events": d.lost_events,
                "Outcome": d.outcome + (f": {d.problem}" if d.problem else ""),
            }
            for d in board.drills
        ),
        hide_index=True,
    )


ROLE_WORDS = {
    "primary": "Primary (takes orders)",
    "standby": "Standby",
    "unreachable": "Unreachable",
    "embedded": "Embedded SQLite",
}


def member_state(member: MemberRow) -> str:
    if member.role == "primary":
        if not member.standbys:
            return "no standby connected: an order is on this server only"
        return "; ".join(
            f"{s.application_name}: {s.state}, {s.sync_state}"
            + (
                f", {s.replay_lag_seconds:.1f} s behind"
                if s.replay_lag_seconds is not None
                else ""
            )
            for s in member.standbys
        )
    if member.role == "standby":
        return f"WAL receiver {member.receiver_status or 'not running'}"
    return member.detail


def cluster_section(members: list[MemberRow]) -> None:
    st.subheader("Order database")
    if not any(m.takes_writes for m in members):
        st.error(
            "**No server takes orders now.** New orders go to the fallback "
            "spool and are merged back when a primary returns."
        )
    st.dataframe(
        pd.DataFrame(
            {
                "Server": m.url,
                "Role": ROLE_WORDS[m.role],
                "Replication": member_state(m),
            }
            for m in members
        ),
        hide_index=True,
    )


def fallback_section(board: FallbackBoard) -> None:
    st.subheader("Fallback order channels")
    chain = board.chain
    if not chain.exists:
        st.caption(
            f"No order has been spooled (`{chain.folder}`): the web shop and the "
            "database have taken every order."
        )
        return
    if not chain.intact:
        st.error(f"**The spool does not hold:** {chain.problem}")
    waiting = board.waiting
    if waiting:
        st.warning(
            f"{waiting} spooled order(s) wait to be merged into the primary: run "
            f"`controlroom fallback merge --spool {chain.folder}`."
        )
    st.dataframe(
        pd.DataFrame(
            {"Channel": c.channel, "Waiting": c.waiting, "Merged": c.merged}
            for c in board.channels
        ),
        hide_index=True,
    )
    merge = board.last_merge
    if merge is not None:
        outcome = merge.outcome.value.replace("_", " ")
        st.caption(
            f"Last merge by {merge.started_by}: {outcome}, "
            f"{merge.merged} merged, {merge.already_present} already present, "
            f"through spool record {merge.through_seq}."
            + (f" Stopped at: {merge.problem}" if merge.problem else "")
        )


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="backups")
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.title("Backups and fail-over")
    if message := st.session_state.pop(MESSAGE_KEY, None):
        st.success(message)
    try:
        backup = backup_board(frame.engine, frame.settings)
        members = availability_board(frame.settings)
        spool = fallback_board(frame.engine, spool_folder(frame.settings))
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    try:
        schedule: ScheduleState | None = schedule_board(frame.engine, frame.settings)
    except ControlRoomError:
        schedule = None
    backup_section(frame, backup)
    wal_archive_line(frame, backup)
    drills_section(frame, backup)
    schedule_section(frame, schedule)
    cluster_section(members)
    fallback_section(spool)


render()
