"""Payments: payment-node health per region, the tracker's node and fail-overs,
invoices by state, and Lightning limits (a second person approves)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from controlroom.errors import ControlRoomError
from controlroom.payments.lightning.actions import (
    approve_limit,
    propose_limit,
    reject_limit,
)
from controlroom.payments.lightning.board import LightningBoard, lightning_board
from controlroom.payments.queue_actions import (
    TARGET_WORDS,
    approve,
    propose,
    reject,
)
from controlroom.payments.tracking.board import PaymentsBoard, payments_board
from controlroom.payments.tracking.figures import (
    invoice_state_figure,
    node_health_figure,
    node_status_figure,
)
from controlroom.session_frame import Frame, day_time, error_markdown, frame_of

MEASURE_LABELS = {"lag": "Height lag", "response": "Response time"}


@st.cache_data(ttl=2, show_spinner=False)
def load(_engine: Engine, url: str) -> PaymentsBoard:
    return payments_board(_engine)


def tracker_down(board: PaymentsBoard, zone: str) -> bool:
    """Say so loudly when the tracker itself is not running."""
    health = board.tracker_health
    if health is None or not health.state.is_down:
        return False
    since = day_time(health.since, zone, today=board.now)
    note = f" {health.note.rstrip('.')}." if health.note else ""
    st.error(
        f"**The payment tracker is down since {since}.**{note} The nodes below "
        "are as it last saw them. Payments to the static fallback wallet are "
        "watched by hand on the Wallet watch screen until it is back.",
        icon=":material/error:",
    )
    return True


def tracker_summary(board: PaymentsBoard, zone: str) -> None:
    tracker = board.tracker
    if tracker is None:
        st.info("The payment tracker has not run yet: no node has been followed.")
        return
    # With no node trusted the tracker stops itself: say why. Otherwise its
    # component tells whether it runs at all.
    down = tracker.node_key is not None and tracker_down(board, zone)
    if tracker.node_key is None:
        st.error(
            "**Payment tracking is stopped: no payment node is trusted.** New "
            "orders are paid to the static watch-only wallets; watch them on the "
            "Wallet watch screen."
        )
    following, height = st.columns(2)
    following.metric(
        "Last followed" if down else "Following", tracker.node_key or "no node"
    )
    height.metric("Last processed block", f"{tracker.height:,}")
    trusted = sum(row.trusted for row in board.latest)
    st.caption(
        f"{trusted} of {len(board.latest)} payment nodes trusted at the last check; "
        "last block processed at "
        f"{day_time(tracker.updated_at, zone, today=board.now)}."
    )


def node_table(board: PaymentsBoard, zone: str) -> pd.DataFrame:
    rows = board.latest
    return pd.DataFrame(
        {
            "Node": [r.node_key for r in rows],
            "Region": [r.region for r in rows],
            "Provider": [r.provider for r in rows],
            "Trusted": ["yes" if r.trusted else "no" for r in rows],
            "Height": ["" if r.height is None else f"{r.height:,}" for r in rows],
            "Lag (blocks)": ["" if r.lag is None else str(r.lag) for r in rows],
            "Response (ms)": [
                "" if r.response_ms is None else f"{r.response_ms:,}" for r in rows
            ],
            "Why": [r.reason for r in rows],
            "Checked": [day_time(r.at, zone, today=board.now) for r in rows],
        }
    )


def node_health(board: PaymentsBoard, zone: str) -> None:
    st.subheader("Payment nodes")
    if not board.checks:
        st.info("No node checks recorded yet.")
        return
    st.dataframe(node_table(board, zone), hide_index=True)
    st.plotly_chart(
        node_status_figure(board.checks, zone=zone), config={"displayModeBar": False}
    )
    measure = st.radio(
        "Show",
        list(MEASURE_LABELS),
        format_func=MEASURE_LABELS.__getitem__,
        horizontal=True,
        key="payments_measure",
    )
    st.plotly_chart(
        node_health_figure(board.checks, measure=measure, zone=zone),
        config={"displayModeBar": False},
    )
    st.caption(
        f"Times in {zone}. Top: each node's standing at every check. Below: "
        "colour is the region; a cross marks a check that left the node "
        "untrusted. Hover for the reason."
    )


def failovers(board: PaymentsBoard, zone: str) -> None:
    st.subheader("Fail-over log")
    if not board.failovers:
        st.caption("The tracker has not failed over.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "When": [
                    day_time(f.at, zone, today=board.now) for f in board.failovers
                ],
                "From": [f.from_node or "(stopped)" for f in board.failovers],
                "To": [f.to_node or "(stopped)" for f in board.failovers],
                "Why": [f.reason for f in board.failovers],
            }
        ),
        hide_index=True,
        column_config={"Why": st.column_config.TextColumn(width="large")},
    )


def operator_queue(board: PaymentsBoard) -> None:
    st.subheader("Operator queue")
    if not board.queue:
        st.caption("No invoice waits for a person.")
        return
    st.warning(
        f"**{len(board.queue)} invoice(s) wait for a person.** None of them ships "
        "or is refunded by itself.",
        icon=":material/pending_actions:",
    )
    st.dataframe(
        pd.DataFrame(
            {
                "Package code": [q.code for q in board.queue],
                "State": [q.state for q in board.queue],
                "Asked (sat)": [f"{q.amount_sat:,}" for q in board.queue],
                "Paid (sat)": [f"{q.paid_sat:,}" for q in board.queue],
                "Due (sat)": [f"{q.due_sat:,}" for q in board.queue],
                "What to do": [q.what_to_do for q in board.queue],
            }
        ),
        hide_index=True,
    )


def invoices(board: PaymentsBoard) -> None:
    st.subheader("Invoices by state")
    if not board.invoices:
        st.caption("No invoices yet.")
        return
    table, chart = st.columns(2)
    table.dataframe(
        pd.DataFrame(
            {
                "State": [s.label for s in board.invoices],
                "Invoices": [s.count for s in board.invoices],
                "Asked (sat)": [f"{s.amount_sat:,}" for s in board.invoices],
                "Paid (sat)": [f"{s.paid_sat:,}" for s in board.invoices],
            }
        ),
        hide_index=True,
    )
    chart.plotly_chart(
        invoice_state_figure(board.invoices), config={"displayModeBar": False}
    )


def live(frame: Frame) -> None:
    """Everything on the screen, re-read on every refresh while it is open."""
    try:
        board = load(frame.engine, frame.url)
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    tracker_summary(board, frame.zone)
    node_health(board, frame.zone)
    operator_queue(board)
    failovers(board, frame.zone)
    invoices(board)


@st.cache_data(ttl=2, show_spinner=False)
def load_lightning(_engine: Engine, url: str) -> LightningBoard:
    return lightning_board(_engine)


def run_action(action: Callable[[], str], section: str) -> None:
    """Run one controlroom action; keep what it did, or why not, for ``section``."""
    try:
        st.session_state[f"{section}_done"] = action()
    except ControlRoomError as exc:
        st.session_state[f"{section}_error"] = error_markdown(exc)
    load.clear()
    load_lightning.clear()


def show_outcome(section: str) -> None:
    """Show the last action's outcome in ``section`` once."""
    if done := st.session_state.pop(f"{section}_done", None):
        st.success(done)
    if problem := st.session_state.pop(f"{section}_error", None):
        st.error(problem)


def second_person_card(
    *,
    key: str,
    text: str,
    own: bool,
    section: str,
    approve: Callable[[], str],
    reject: Callable[..., str],
) -> None:
    """A proposal waiting for a second person: Approve (not its proposer) or Reject."""
    with st.container(border=True):
        st.markdown(text)
        approve_col, reject_col, why = st.columns([1, 1, 3])
        reason = why.text_input("Reason to reject", key=f"{key}_reject_reason")
        approve_col.button(
            "Approve",
            key=f"{key}_approve",
            disabled=own,
            help="Someone other than the proposer must approve." if own else None,
            on_click=run_action,
            args=(approve, section),
        )
        reject_col.button(
            "Withdraw" if own else "Reject",
            key=f"{key}_reject",
            on_click=run_action,
            args=(partial(reject, reason=reason), section),
        )


def lightning_limits(frame: Frame) -> None:
    st.subheader("Lightning limits")
    board = load_lightning(frame.engine, frame.url)
    counts = ", ".join(
        f"{count} {status.value}" for status, count in board.invoices_by_status.items()
    )
    st.caption(
        "Only regular customers may pay over Lightning, each within a limit of "
        "open invoices; a new limit needs a second person. Lightning invoices: "
        + (counts or "none yet")
        + "."
    )
    show_outcome("lightning")

    user = frame.user
    for change in board.pending:
        second_person_card(
            key=f"limit_{change.change_id}",
            text=(
                f"**{change.name}** (customer #{change.party_id}): "
                f"{change.previous_sat:,} → **{change.limit_sat:,} sat**, "
                f"proposed by {change.proposed_by} — {change.reason}"
            ),
            own=change.proposed_by == user.username,
            section="lightning",
            approve=partial(
                approve_limit, frame.engine, user=user, change_id=change.change_id
            ),
            reject=partial(
                reject_limit, frame.engine, user=user, change_id=change.change_id
            ),
        )

    if not board.customers:
        st.caption("No regular customers yet.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "Customer": [f"{c.name} (#{c.party_id})" for c in board.customers],
                "Limit (sat)": [f"{c.limit_sat:,}" for c in board.customers],
                "Open now (sat)": [f"{c.open_sat:,}" for c in board.customers],
            }
        ),
        hide_index=True,
    )
    names = {c.party_id: f"{c.name} (#{c.party_id})" for c in board.customers}
    with st.form("propose_limit", clear_on_submit=True):
        st.markdown("**Propose a new limit**")
        party = st.selectbox("Customer", list(names), format_func=names.__getitem__)
        limit = st.number_input(
            "New limit (sat)", min_value=1, max_value=10_000_000, value=250_000
        )
        reason = st.text_input("Why")
        if st.form_submit_button("Propose") and party is not None:
            run_action(
                lambda: propose_limit(
                    frame.engine,
                    user=user,
                    party_id=int(party),
                    limit_sat=int(limit),
                    reason=reason,
                ),
                "lightning",
            )
            st.rerun()


def queue_decisions(frame: Frame) -> None:
    """Propose what to do with a queued invoice; a second person approves."""
    board = load(frame.engine, frame.url)
    if not board.queue and not board.pending_marks:
        show_outcome("queue")  # the last item decided: still say so
        return
    st.subheader("Decide on the operator queue")
    st.caption(
        "One person proposes settling (the parcel may ship) or invalidating (it "
        "does not) and says why; a second, different person approves. Refunds "
        "are paid from the wallet, outside the control room."
    )
    show_outcome("queue")

    user = frame.user
    for mark in board.pending_marks:
        second_person_card(
            key=f"mark_{mark.request_id}",
            text=(
                f"**{mark.code}** → **{TARGET_WORDS[mark.target]}**, proposed by "
                f"{mark.proposed_by}: {mark.reason}"
            ),
            own=mark.proposed_by == user.username,
            section="queue",
            approve=partial(
                approve, frame.engine, user=user, request_id=mark.request_id
            ),
            reject=partial(reject, frame.engine, user=user, request_id=mark.request_id),
        )

    waiting = {m.code for m in board.pending_marks}
    codes = [q.code for q in board.queue if q.code not in waiting]
    if not codes:
        return
    with st.form("propose_mark", clear_on_submit=True):
        code = st.selectbox("Package", codes)
        target = st.radio(
            "Mark the invoice",
            list(TARGET_WORDS),
            format_func=TARGET_WORDS.__getitem__,
            horizontal=True,
        )
        reason = st.text_input("Why", max_chars=300)
        if st.form_submit_button("Propose") and code is not None:
            run_action(
                lambda: propose(
                    frame.engine, user=user, code=code, target=target, reason=reason
                ),
                "queue",
            )
            st.rerun()


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="payments")
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.title("Payments")
    st.fragment(run_every=frame.settings.refresh_seconds)(live)(frame)
    queue_decisions(frame)
    lightning_limits(frame)


render()
