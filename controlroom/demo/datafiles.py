"""The demo world's input files, read from the repository's ``data/demo``.

The folder sits beside the ``controlroom`` package (the repository root), which
holds for a checkout and for an editable install. Runtime code reads only
from here, never from the project's shared benchmark folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

import controlroom
from controlroom.errors import DemoWorldError
from controlroom.health.models import ComponentState
from solver import (
    BestKnownSolution,
    InstanceFormatError,
    PdptwInstance,
    best_known_file,
    read_best_known,
    read_pdptw,
)

DEMO_DATA = Path(controlroom.__file__).resolve().parent.parent / "data" / "demo"
DAY_SCRIPT = "day_script.json"
WATCH_ONLY_ACCOUNT = "watch_only_account.json"

_INSTANCE_NAME = re.compile(r"^[a-z]{2,3}\d{3,4}$")


@dataclass(frozen=True)
class Disruption:
    """A component reporting ``state`` from one clock time until another."""

    component: str
    start: time
    end: time
    state: ComponentState
    note: str
    # What a lab payment node shows meanwhile: "down", or "lag" by
    # ``lag_blocks`` blocks; empty for components that are not lab nodes.
    lab_fault: str = ""
    lag_blocks: int = 0


LAB_FAULTS = ("", "down", "lag")


@dataclass(frozen=True)
class WatchOnlyAccount:
    """The public account keys on-chain invoice addresses are derived from."""

    vpub: str
    account_path: str
    expected_addresses: tuple[str, ...]
    fallback_vpub: str


def _folder(folder: Path | None) -> Path:
    folder = folder or DEMO_DATA
    if not folder.is_dir():
        raise DemoWorldError(
            f"The demo data folder {folder} is missing; it ships with the "
            "repository (data/demo). Run from a checkout or an editable install."
        )
    return folder


def available_instances(folder: Path | None = None) -> list[str]:
    """Return the names of the Li & Lim instances the demo can be built from."""
    names = []
    for path in sorted(_folder(folder).glob("*.txt")):
        if _INSTANCE_NAME.match(path.stem):
            names.append(path.stem)
    return names


def load_instance(
    name: str, folder: Path | None = None
) -> tuple[PdptwInstance, BestKnownSolution]:
    """Return a Li & Lim instance and its best-known routes, or say what exists."""
    folder = _folder(folder)
    known = available_instances(folder)
    if not _INSTANCE_NAME.match(name) or name not in known:
        raise DemoWorldError(
            f"There is no demo instance called {name!r}. Choose one of: "
            f"{', '.join(known)}."
        )
    try:
        instance = read_pdptw(folder / f"{name}.txt")
        solution = read_best_known(best_known_file(folder, name))
    except (InstanceFormatError, FileNotFoundError) as exc:
        raise DemoWorldError(
            f"The demo instance {name!r} cannot be read: {exc}"
        ) from exc
    return instance, solution


def clock_time(value: Any, where: str) -> time:
    """Return ``value`` as a clock time like '09:10', or say where it is wrong."""
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise DemoWorldError(
            f"{where}: {value!r} is not a time like '09:10'."
        ) from None


def load_day_script(folder: Path | None = None) -> tuple[Disruption, ...]:
    """Return the scripted disruptions of the demo day."""
    path = _folder(folder) / DAY_SCRIPT
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        entries = raw["disruptions"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DemoWorldError(
            f"The day script {path} cannot be read: {exc}. It needs a list "
            "'disruptions' of {component, from, until, state, note}."
        ) from exc

    disruptions = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}, disruption {number}"
        try:
            state = ComponentState(entry["state"])
            disruption = Disruption(
                component=str(entry["component"]),
                start=clock_time(entry["from"], where),
                end=clock_time(entry["until"], where),
                state=state,
                note=str(entry.get("note", "")),
                lab_fault=str(entry.get("lab_fault", "")),
                lag_blocks=int(entry.get("lag_blocks", 0)),
            )
            if disruption.lab_fault not in LAB_FAULTS:
                raise ValueError(
                    f"lab_fault {disruption.lab_fault!r} is not one of 'down', 'lag'"
                )
        except (KeyError, ValueError) as exc:
            raise DemoWorldError(f"{where} is not valid: {exc}") from exc
        if disruption.end <= disruption.start:
            raise DemoWorldError(f"{where} ends before it starts.")
        disruptions.append(disruption)
    return tuple(disruptions)


def load_watch_only_account(folder: Path | None = None) -> WatchOnlyAccount:
    """Return the demo wallet's public account key (never a private key)."""
    path = _folder(folder) / WATCH_ONLY_ACCOUNT
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return WatchOnlyAccount(
            vpub=str(raw["vpub"]),
            account_path=str(raw["account_path"]),
            expected_addresses=tuple(raw.get("expected_receive_addresses", ())),
            fallback_vpub=str(raw["fallback_vpub"]),
        )
    except (OSError, ValueError, KeyError) as exc:
        raise DemoWorldError(
            f"The watch-only account {path} cannot be read: {exc}"
        ) from exc
