"""How the fallback wallet, observation and match events are re-applied.

The step table :data:`WALLET_STEPS` that :mod:`controlroom.backup.replay`
runs, each writing its row as :mod:`controlroom.payments.wallet_watch`
did.

``FallbackWalletAdded`` is re-applied only with the wallet's key: the
journal keeps it out on purpose (a key shows every address of the wallet),
so ops give it from paper (``controlroom backup restore --wallet-key``).
The key must derive the first address the journal recorded, the way
:func:`~controlroom.payments.wallet_watch.service.add_fallback_wallet`
derives it; private material is refused as that function refuses it, and
no key is ever repeated in a message or the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import sqlite

from controlroom.backup.replay_writes import (
    Build,
    Event,
    Row,
    Step,
    Write,
    inserts,
    parse_time,
    row_id,
    set_values,
    table_of,
    updates,
)
from controlroom.errors import PaymentError, RestoreRefused
from controlroom.payments.addresses import Network
from controlroom.payments.wallet_watch.matching import MatchRule
from controlroom.payments.wallet_watch.models import (
    FallbackWallet,
    IssuedAddress,
    MatchProposal,
    MatchStatus,
    Observation,
    ObservationSource,
    WalletKind,
)
from controlroom.payments.wallet_watch.service import (
    derive_first_address,
    refuse_wallet_secret,
)

_WALLETS = table_of(FallbackWallet)
_ADDRESSES = table_of(IssuedAddress)
_OBSERVATIONS = table_of(Observation)
_MATCHES = table_of(MatchProposal)


# Fallback wallets --------------------------------------------------------


def with_wallet_key(event: Event, body: Any, keys: Mapping[str, str]) -> Any:
    """The payload of a wallet added after the snapshot, with its checked key.

    Refuse a wallet no key was given for, a key that is private material,
    and one that does not derive the first address the journal recorded.
    """
    name: str = body["name"]
    where = f"Event {event['seq']} ({event['kind']}, {event['subject']})"
    key = keys.get(name)
    if key is None:
        raise RestoreRefused(
            f"{where} adds the fallback wallet {name!r} after the snapshot. Its "
            "watch-only key is kept out of the journal on purpose, so the "
            "restore cannot rebuild it, nor the addresses it gave orders, "
            "without it: give the account public key ops hold on paper with "
            f"--wallet-key '{name}=KEY', or restore from a snapshot taken after "
            f"event {event['seq']} ('controlroom backup snapshot' takes one)."
        )

    refuse_wallet_secret(key)
    kind, network = WalletKind(body["kind"]), Network(body["network"])
    try:
        first = derive_first_address(kind, key.strip(), network)
    except PaymentError as exc:
        raise RestoreRefused(
            f"{where}: the key given for the fallback wallet {name!r} does not "
            f"match, it is not a {kind.value} {network.value} wallet key ({exc})"
        ) from exc
    except (ValueError, TypeError, IndexError):
        # The key library's own message may quote the key; say what it is not.
        raise RestoreRefused(
            f"{where}: the key given for the fallback wallet {name!r} cannot be "
            f"read as a {kind.value} {network.value} wallet key."
        ) from None
    if first != body["first_address"]:
        raise RestoreRefused(
            f"{where}: the key given for the fallback wallet {name!r} does not "
            f"match: its first {network.value} address is not the one the "
            "journal recorded when the wallet was added. Give the key of that "
            "wallet; nothing was written."
        )
    return {**body, "public_key": key.strip()}


def _wallet_added(event: Event, body: Any) -> Row:
    return {
        "id": row_id(event, "fallback_wallet"),
        "name": body["name"],
        "kind": WalletKind(body["kind"]),
        "network": Network(body["network"]),
        "public_key": body["public_key"],
        "first_address": body["first_address"],
        # add_fallback_wallet adds it inactive; FallbackWalletActivated
        # follows when it was activated at once.
        "active": False,
        "added_by": event["actor"],
        "added_at": event["occurred_at"],
    }


def _wallet_id(event: Event, _body: Any) -> Row:
    return {"row": row_id(event, "fallback_wallet")}


def _address_issued(event: Event, body: Any) -> Row:
    return {
        "id": body["issued"],
        "wallet_id": body["wallet_id"],
        "derivation_index": body["index"],
        "address": body["address"],
        "invoice_id": row_id(event, "invoice"),
        "parcel_id": body["parcel"],
        "issued_by": event["actor"],
        "issued_at": event["occurred_at"],
    }


def _observed(event: Event, body: Any) -> Row:
    return {
        "id": row_id(event, "wallet_observation"),
        "address": body["address"],
        "amount_sat": body["amount_sat"],
        "txid": body["txid"],
        "observed_at": parse_time(body["observed_at"]),
        "source": ObservationSource(body["source"]),
        "file_name": body["file"],
        "file_row": body["row"],
        "note": body["note"],
        "recorded_by": event["actor"],
        "recorded_at": event["occurred_at"],
    }


def _match(status: MatchStatus) -> Build:
    def build(event: Event, body: Any) -> Row:
        at, actor = event["occurred_at"], event["actor"]
        confirmed = status is MatchStatus.CONFIRMED
        return {
            "id": body["match"],
            "observation_id": body["observation"],
            "invoice_id": row_id(event, "invoice"),
            "rule": MatchRule(body["rule"]),
            "confidence": body["confidence"],
            "status": status,
            "proposed_at": at,
            "proposed_by": actor,
            "confirmed_by": actor if confirmed else None,
            "confirmed_at": at if confirmed else None,
        }

    return build


def _by_hand(event: Event, body: Any) -> Row:
    # match_by_hand: a new match, or one rejected before, now confirmed.
    return set_values(
        body["match"],
        rule=MatchRule(body["rule"]),
        confidence=body["confidence"],
        confirmed_by=event["actor"],
        confirmed_at=event["occurred_at"],
    )


def _match_step(status: MatchStatus, who: str) -> Step:
    def build(event: Event, body: Any) -> Row:
        values = {f"{who}_by": event["actor"], f"{who}_at": event["occurred_at"]}
        if status is MatchStatus.REJECTED:
            values["reject_reason"] = body["reason"][:240]
        return set_values(body["match"], **values)

    columns = [f"{who}_by", f"{who}_at"]
    columns += ["reject_reason"] if status is MatchStatus.REJECTED else []
    fixed = {"status": status}
    return Step((updates(_MATCHES, "wallet match", build, columns, fixed),))


WALLET_STEPS: dict[str, Step] = {
    # Only with the key with_wallet_key checked and put in the payload.
    "FallbackWalletAdded": Step((inserts(_WALLETS, _wallet_added),), single=True),
    # activate_wallet: one active wallet at a time, so one event at a time.
    "FallbackWalletActivated": Step(
        (
            Write(
                update(_WALLETS)
                .where(_WALLETS.c.active, _WALLETS.c.id != bindparam("row"))
                .values(active=False),
                _wallet_id,
            ),
            updates(_WALLETS, "fallback wallet", _wallet_id, (), {"active": True}),
        ),
        single=True,
    ),
    "FallbackAddressIssued": Step((inserts(_ADDRESSES, _address_issued),)),
    "PaymentObserved": Step((inserts(_OBSERVATIONS, _observed),)),
    "WalletMatchProposed": Step((inserts(_MATCHES, _match(MatchStatus.PROPOSED)),)),
    # match_by_hand re-uses a rejected match of the same pair, or adds one;
    # the target is always SQLite (restore.target_path), hence its upsert.
    "WalletMatchedByHand": Step(
        (
            Write(
                sqlite.insert(_MATCHES).on_conflict_do_nothing(),
                _match(MatchStatus.CONFIRMED),
                adds=_MATCHES.name,
                upsert=True,
            ),
            updates(
                _MATCHES,
                "wallet match",
                _by_hand,
                ["rule", "confidence", "confirmed_by", "confirmed_at"],
                {
                    "status": MatchStatus.CONFIRMED,
                    "rejected_by": None,
                    "rejected_at": None,
                    "reject_reason": None,
                },
            ),
        ),
        single=True,
    ),
    "WalletMatchConfirmed": _match_step(MatchStatus.CONFIRMED, "confirmed"),
    "WalletMatchVerified": _match_step(MatchStatus.VERIFIED, "verified"),
    "WalletMatchRejected": _match_step(MatchStatus.REJECTED, "rejected"),
}
