"""Wallet watch: static fallback wallets watched by hand, two people a payment."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from controlroom.errors import ControlRoomError
from controlroom.payments.addresses import Network
from controlroom.payments.wallet_watch.actions import (
    WALLET_WATCHERS,
    add_wallet,
    confirm,
    import_file,
    load_board,
    match_payment_by_hand,
    record_seen_payment,
    reject,
    verify,
)
from controlroom.payments.wallet_watch.amounts_and_times import AmountUnit
from controlroom.payments.wallet_watch.board import MatchLine, WalletWatchBoard
from controlroom.payments.wallet_watch.csv_import import MAX_BYTES, MAX_ROWS
from controlroom.payments.wallet_watch.gap import GapLevel, GapReport
from controlroom.payments.wallet_watch.models import MatchStatus, WalletKind
from controlroom.session_frame import Frame, error_markdown, frame_of, short_time

KIND_WORDS = {
    WalletKind.HD: "HD (a fresh address per order)",
    WalletKind.SINGLE_ADDRESS: "One reused address",
}
UNIT_WORDS = {None: "As the file says", AmountUnit.BTC: "BTC", AmountUnit.SAT: "sat"}
MESSAGE_KEY = "wallet_watch_message"
GAP_MARKS = {GapLevel.CLEAR: "✔", GapLevel.AMBER: "⚠", GapLevel.RED: "✖"}


@st.cache_data(ttl=2, show_spinner=False)
def load(_engine: Engine, url: str) -> WalletWatchBoard:
    return load_board(_engine)


def act(call: Callable[[], str]) -> None:
    """Run one action; show its error here, or its outcome after a rerun."""
    try:
        message = call()
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    load.clear()
    st.session_state[MESSAGE_KEY] = message
    st.rerun()


def gap_words(gap: GapReport | None) -> str:
    if gap is None:
        return "one address: no gap"
    words = f"{GAP_MARKS[gap.level]} {gap.unpaid_run} unpaid in a row"
    if gap.invisible_paid:
        words += f"; {len(gap.invisible_paid)} paid past the wallet's sight"
    return words


def wallets_section(frame: Frame, board: WalletWatchBoard) -> None:
    st.subheader("Fallback wallets")
    if not board.wallets:
        st.info("No fallback wallet yet: add the watch-only key of one below.")
    for wallet in board.wallets:
        if wallet.gap is None or wallet.gap.level is GapLevel.CLEAR:
            continue
        warn = st.error if wallet.gap.level is GapLevel.RED else st.warning
        warn(f"**{wallet.name}:** {wallet.gap.words}", icon=":material/warning:")
    if board.wallets:
        st.dataframe(
            pd.DataFrame(
                {
                    "Wallet": [w.name for w in board.wallets],
                    "Gives": [KIND_WORDS[w.kind] for w in board.wallets],
                    "Network": [w.network for w in board.wallets],
                    "Active": ["✔" if w.active else "" for w in board.wallets],
                    "Issued": [w.issued for w in board.wallets],
                    "Gap": [gap_words(w.gap) for w in board.wallets],
                    "First address": [w.first_address for w in board.wallets],
                }
            ),
            hide_index=True,
        )
    with st.expander("Add a fallback wallet (public key only)"):
        with st.form("add_wallet", clear_on_submit=True):
            name = st.text_input("Name", max_chars=80)
            kinds: list[WalletKind] = list(WalletKind)
            kind = st.radio("It gives", kinds, format_func=KIND_WORDS.__getitem__)
            key = st.text_input(
                "Account public key (xpub, zpub, descriptor) or the address",
                max_chars=400,
                help="Never a private key or seed words: they are refused.",
            )
            networks: list[Network] = list(Network)
            network = st.selectbox("Network", networks, format_func=str.title)
            submitted = st.form_submit_button("Add wallet")
        if submitted:
            act(
                lambda: add_wallet(
                    frame.engine,
                    user=frame.user,
                    name=name,
                    kind=kind,
                    public_key=key,
                    network=network,
                )
            )


def match_card(frame: Frame, match: MatchLine, zone: str) -> None:
    with st.container(border=True):
        st.markdown(
            f"**{match.amount_sat:,} sat → {match.code}** (asks "
            f"{match.invoice_amount_sat:,} sat) · seen "
            f"{short_time(match.observed_at, zone)} at `{match.address}`"
        )
        words = match.confidence[:1].upper() + match.confidence[1:]
        st.caption(words + (f" · txid {match.txid}" if match.txid else ""))
        if match.together:
            st.markdown(f"**{match.together[:1].upper()}{match.together[1:]}.**")
        confirm_col, verify_col, reject_col = st.columns([1, 1, 2])
        if match.status is MatchStatus.PROPOSED:
            if confirm_col.button("Confirm", key=f"confirm_{match.match_id}"):
                act(
                    lambda: confirm(
                        frame.engine, user=frame.user, match_id=match.match_id
                    )
                )
        else:
            confirm_col.markdown(f"Confirmed by **{match.confirmed_by}**")
            mine = match.confirmed_by == frame.user.username
            if verify_col.button(
                "Verify",
                key=f"verify_{match.match_id}",
                type="primary",
                disabled=mine,
                help=(
                    "You confirmed it: a second person must verify."
                    if mine
                    else "Verify as the second person; the order is marked paid."
                ),
            ):
                act(
                    lambda: verify(
                        frame.engine, user=frame.user, match_id=match.match_id
                    )
                )
        reason = reject_col.text_input(
            "Why reject",
            key=f"reason_{match.match_id}",
            label_visibility="collapsed",
            placeholder="Why it is wrong (to reject)",
        )
        if reject_col.button("Reject", key=f"reject_{match.match_id}"):
            act(
                lambda: reject(
                    frame.engine,
                    user=frame.user,
                    match_id=match.match_id,
                    reason=reason,
                )
            )


def matches_section(frame: Frame, board: WalletWatchBoard) -> None:
    st.subheader("Match proposals")
    st.caption(
        "One person confirms, a second, different person verifies; both names "
        "go to the journal and the order is marked paid."
    )
    if not board.open_matches:
        st.caption("No match waits for a person.")
    for match in board.open_matches:
        match_card(frame, match, frame.zone)


def observations_section(frame: Frame, board: WalletWatchBoard) -> None:
    st.subheader("Observed payments")
    if not board.observations:
        st.caption("Nothing recorded yet.")
        return
    lines = board.observations
    st.dataframe(
        pd.DataFrame(
            {
                "Seen": [short_time(o.observed_at, frame.zone) for o in lines],
                "Amount (sat)": [f"{o.amount_sat:,}" for o in lines],
                "Address": [o.address for o in lines],
                "Txid": [o.txid or "" for o in lines],
                "From": [o.source for o in lines],
                "Recorded by": [o.recorded_by for o in lines],
                "Match": [o.state for o in lines],
            }
        ),
        hide_index=True,
    )
    if board.unmatched and board.open_orders:
        by_hand_form(frame, board)


def by_hand_form(frame: Frame, board: WalletWatchBoard) -> None:
    payments = {
        o.observation_id: f"{o.amount_sat:,} sat to {o.address}"
        for o in board.unmatched
    }
    with st.form("by_hand", clear_on_submit=True):
        st.markdown("**Match a payment by hand** (counts as the first person)")
        observation = st.selectbox(
            "Payment", list(payments), format_func=payments.__getitem__
        )
        order = st.selectbox(
            "Order", list(board.open_orders), format_func=board.open_orders.__getitem__
        )
        reason = st.text_input("How you know", max_chars=200)
        submitted = st.form_submit_button("Match")
    if submitted and observation is not None and order is not None:
        act(
            lambda: match_payment_by_hand(
                frame.engine,
                user=frame.user,
                observation_id=observation,
                invoice_id=order,
                reason=reason,
            )
        )


def record_form(frame: Frame, board: WalletWatchBoard) -> None:
    now = board.now.astimezone(ZoneInfo(frame.zone)).strftime("%Y-%m-%d %H:%M")
    with st.form("record", clear_on_submit=True):
        st.markdown("**Record a payment you saw** in a wallet or an explorer")
        address = st.text_input("Address", max_chars=100, key="record_address")
        amount = st.number_input(
            "Amount (sat)", min_value=1, step=1, value=None, key="record_amount"
        )
        seen = st.text_input(f"Seen at (YYYY-MM-DD HH:MM, {frame.zone})", value=now)
        txid = st.text_input("Txid (if you have it)", max_chars=64, key="record_txid")
        note = st.text_input("Note", max_chars=240)
        submitted = st.form_submit_button("Record payment")
    if not submitted:
        return
    if amount is None:
        st.error("Give the amount in sat; nothing was recorded.")
        return
    act(
        lambda: record_seen_payment(
            frame.engine,
            user=frame.user,
            address=address,
            amount_sat=int(amount),
            observed_at=seen,
            zone=frame.zone,
            txid=txid,
            note=note,
        )
    )


def import_form(frame: Frame) -> None:
    with st.form("import", clear_on_submit=True):
        st.markdown("**Import a CSV** exported from a wallet or an explorer")
        upload = st.file_uploader(
            "CSV file",
            type=["csv", "txt"],
            help=f"Up to {MAX_BYTES // 1_000_000} MB and {MAX_ROWS:,} rows: "
            "columns address, amount, and optionally txid and date.",
        )
        # The control room's own zone first: that is what a person here reads.
        zones = [frame.zone, "UTC"] if frame.zone != "UTC" else ["UTC"]
        zone = st.selectbox("Times without a zone are in", zones)
        units: list[AmountUnit | None] = list(UNIT_WORDS)
        unit = st.radio(
            "Amounts are in",
            units,
            format_func=UNIT_WORDS.__getitem__,
            horizontal=True,
        )
        submitted = st.form_submit_button("Import")
    if not submitted:
        return
    if upload is None:
        st.error("Choose a file first; nothing was imported.")
        return
    content = upload.read(MAX_BYTES + 1)
    act(
        lambda: import_file(
            frame.engine,
            user=frame.user,
            content=content,
            file_name=upload.name,
            zone=zone,
            unit=unit,
        )
    )


def issued_section(board: WalletWatchBoard, zone: str) -> None:
    st.subheader("Issued fallback addresses")
    if not board.issued:
        st.caption("No order has a fallback address yet.")
        return
    lines = board.issued
    st.dataframe(
        pd.DataFrame(
            {
                "Issued": [short_time(i.issued_at, zone) for i in lines],
                "Package code": [i.code for i in lines],
                "Amount (sat)": [f"{i.amount_sat:,}" for i in lines],
                "Wallet": [i.wallet for i in lines],
                "Index": ["" if i.index is None else str(i.index) for i in lines],
                "Address": [i.address for i in lines],
                "Invoice": [i.invoice_status.capitalize() for i in lines],
            }
        ),
        hide_index=True,
    )


def history_section(board: WalletWatchBoard, zone: str) -> None:
    st.subheader("Verified and rejected")
    if not board.history:
        st.caption("Nothing verified or rejected yet.")
        return
    lines = board.history
    st.dataframe(
        pd.DataFrame(
            {
                "When": [short_time(m.decided_at, zone) for m in lines],
                "Package code": [m.code for m in lines],
                "Amount (sat)": [f"{m.amount_sat:,}" for m in lines],
                "Outcome": [m.status.value.capitalize() for m in lines],
                "First": [m.confirmed_by or "" for m in lines],
                "Second": [m.verified_by or m.rejected_by or "" for m in lines],
                "Why": [m.reject_reason or m.confidence for m in lines],
            }
        ),
        hide_index=True,
    )


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="wallet_watch")
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.title("Wallet watch")
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.success(message)
    try:
        board = load(frame.engine, frame.url)
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return

    acts = frame.user.role in WALLET_WATCHERS
    wallets_section(frame, board)
    matches_section(frame, board)
    observations_section(frame, board)
    if acts:
        left, right = st.columns(2)
        with left:
            record_form(frame, board)
        with right:
            import_form(frame)
    issued_section(board, frame.zone)
    history_section(board, frame.zone)


render()
