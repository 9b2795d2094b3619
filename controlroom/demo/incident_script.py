"""The demo day's incident story, read from ``data/demo/incident_script.json``.

The story is data, not code: each incident opens at a time with its title,
severity and components, then plays steps (roles, the call, notes,
decisions, status moves, broadcasts, drivers' texts) at their times. Every
entry is checked here, so a mistyped step is refused with its place in
the file before the simulator plays anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from controlroom.broadcasts.models import MessageChannel
from controlroom.broadcasts.templates import PURPOSES
from controlroom.demo.datafiles import DEMO_DATA, clock_time
from controlroom.driver_sms.commands import CommandKind
from controlroom.errors import DemoWorldError
from controlroom.health.models import ComponentState
from controlroom.incidents.cadence import Severity
from controlroom.incidents.models import (
    CallItemKind,
    IncidentRole,
    IncidentStatus,
    Visibility,
)

INCIDENT_SCRIPT = "incident_script.json"

# What each kind of step needs besides "at" and "do" ("by" is optional).
STEP_FIELDS: Mapping[str, tuple[str, ...]] = {
    "role": ("role", "holder"),
    "join": ("name",),
    "leave": ("name",),
    "note": ("text",),
    "call_item": ("label", "kind", "raised_by", "text"),
    "hear": ("item",),
    "act": ("item", "action"),
    "decision": ("text", "decided_by"),
    "status": ("to",),
    "broadcast": ("purpose", "audience", "channels", "message"),
    "driver_text": ("driver", "text"),
}
AUDIENCES = ("all_drivers", "open_order_customers", "affected_customers")
# How the parcels of an "affected_customers" broadcast are chosen.
PARCEL_SELECTORS = ("paid_to_fallback_wallet",)


@dataclass(frozen=True)
class StoryStep:
    """One thing done on an incident at a time; ``values`` per kind."""

    at: time
    do: str
    by: str
    values: Mapping[str, Any] = field(compare=False)

    def text(self, name: str) -> str:
        """Return the step's value ``name`` as text."""
        return str(self.values[name])


@dataclass(frozen=True)
class StoryIncident:
    """An incident of the story: how it opens and what happens on it."""

    key: str
    opens: time
    by: str
    title: str
    kind: str
    severity: Severity
    visibility: Visibility
    summary: str
    components: Mapping[str, ComponentState] = field(compare=False)
    steps: tuple[StoryStep, ...]


@dataclass(frozen=True)
class DriverPhoneEntry:
    """A van's dedicated phone and the demo PIN its driver texts."""

    driver: str
    phone: str
    pin: str


@dataclass(frozen=True)
class TextingWindow:
    """While drivers report a share of their stops by SMS, and in what words."""

    start: time
    end: time
    share: float
    pickup: str
    delivery: str

    def covers(self, moment: time) -> bool:
        """Whether ``moment`` (Oslo wall clock) falls in the window."""
        return self.start <= moment < self.end

    def template(self, kind: CommandKind) -> str:
        """Return the text a driver sends for a pickup or a delivery."""
        return self.pickup if kind is CommandKind.PICKUP else self.delivery


@dataclass(frozen=True)
class IncidentScript:
    """The whole story: incidents, drivers' phones, texting, phones off."""

    incidents: tuple[StoryIncident, ...]
    phones: tuple[DriverPhoneEntry, ...]
    switched_off: tuple[str, ...]
    texting: TextingWindow | None

    def phone_of(self, callsign: str) -> DriverPhoneEntry | None:
        """Return the dedicated phone of driver ``callsign``, if it has one."""
        return next((p for p in self.phones if p.driver == callsign), None)


def load_incident_script(folder: Path | None = None) -> IncidentScript:
    """Return the demo day's incident story, checked entry by entry."""
    path = (folder or DEMO_DATA) / INCIDENT_SCRIPT
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        incidents = raw["incidents"]
        phones = raw.get("driver_phones", [])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DemoWorldError(
            f"The incident script {path} cannot be read: {exc}. It needs a list "
            "'incidents' of {key, opens, steps}."
        ) from exc

    script = IncidentScript(
        incidents=tuple(
            _incident(entry, f"{path}, incident {number}")
            for number, entry in enumerate(incidents, start=1)
        ),
        phones=tuple(
            _phone(entry, f"{path}, driver phone {number}")
            for number, entry in enumerate(phones, start=1)
        ),
        switched_off=tuple(str(c) for c in raw.get("switched_off", [])),
        texting=_texting(raw.get("driver_texts"), f"{path}, driver_texts"),
    )
    _check_drivers(script, str(path))
    return script


def _incident(entry: Any, where: str) -> StoryIncident:
    try:
        opens = entry["opens"]
        by = str(opens["by"])
        incident = StoryIncident(
            key=str(entry["key"]),
            opens=clock_time(opens["at"], where),
            by=by,
            title=str(opens["title"]),
            kind=str(opens["kind"]),
            severity=Severity(opens["severity"]),
            visibility=Visibility(opens["visibility"]),
            summary=str(opens["summary"]),
            components={
                str(key): ComponentState(state)
                for key, state in opens.get("components", {}).items()
            },
            steps=tuple(
                _step(step, by, f"{where}, step {number}")
                for number, step in enumerate(entry["steps"], start=1)
            ),
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise DemoWorldError(f"{where} is not valid: {exc!r}") from exc

    previous = incident.opens
    labels: set[str] = set()
    for number, step in enumerate(incident.steps, start=1):
        if step.at < previous:
            raise DemoWorldError(
                f"{where}, step {number} at {step.at:%H:%M} comes before the "
                f"step or opening before it ({previous:%H:%M}); keep steps in "
                "time order."
            )
        previous = step.at
        if step.do == "call_item":
            labels.add(step.text("label"))
        if step.do in ("hear", "act") and step.text("item") not in labels:
            raise DemoWorldError(
                f"{where}, step {number} names call item {step.text('item')!r}, "
                "which no earlier call_item step of this incident raised."
            )
    return incident


def _step(entry: Any, default_by: str, where: str) -> StoryStep:
    do = str(entry["do"])
    needed = STEP_FIELDS.get(do)
    if needed is None:
        raise DemoWorldError(
            f"{where}: 'do' is {do!r}; use one of {', '.join(STEP_FIELDS)}."
        )
    missing = [name for name in needed if name not in entry]
    if missing:
        raise DemoWorldError(f"{where}: a {do} step needs {', '.join(missing)}.")
    step = StoryStep(
        at=clock_time(entry["at"], where),
        do=do,
        by=str(entry.get("by", default_by)),
        values=dict(entry),
    )
    try:
        _check_values(step, where)
    except ValueError as exc:
        raise DemoWorldError(f"{where} is not valid: {exc}") from exc
    return step


def _check_values(step: StoryStep, where: str) -> None:
    values = step.values
    if step.do == "role":
        IncidentRole(values["role"])
    elif step.do == "call_item":
        CallItemKind(values["kind"])
    elif step.do == "status":
        IncidentStatus(values["to"])
    elif step.do == "driver_text" and "{pin}" not in step.text("text"):
        raise DemoWorldError(f"{where}: a driver's text needs its {{pin}}.")
    elif step.do == "broadcast":
        if values["purpose"] not in PURPOSES:
            raise DemoWorldError(
                f"{where}: purpose {values['purpose']!r} is not one of "
                f"{', '.join(PURPOSES)}."
            )
        [MessageChannel(channel) for channel in values["channels"]]
        if values["audience"] not in AUDIENCES:
            raise DemoWorldError(
                f"{where}: audience {values['audience']!r} is not one of "
                f"{', '.join(AUDIENCES)}."
            )
        selector = values.get("parcels")
        if values["audience"] == "affected_customers" and (
            selector not in PARCEL_SELECTORS
        ):
            raise DemoWorldError(
                f"{where}: affected customers need 'parcels' set to one of "
                f"{', '.join(PARCEL_SELECTORS)}."
            )


def _phone(entry: Any, where: str) -> DriverPhoneEntry:
    try:
        return DriverPhoneEntry(
            driver=str(entry["driver"]),
            phone=str(entry["phone"]),
            pin=str(entry["pin"]),
        )
    except (KeyError, TypeError) as exc:
        raise DemoWorldError(f"{where} needs driver, phone and pin: {exc!r}") from exc


def _texting(entry: Any, where: str) -> TextingWindow | None:
    if entry is None:
        return None
    try:
        window = TextingWindow(
            start=clock_time(entry["from"], where),
            end=clock_time(entry["until"], where),
            share=float(entry["share"]),
            pickup=str(entry["pickup"]),
            delivery=str(entry["delivery"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DemoWorldError(f"{where} is not valid: {exc!r}") from exc
    if not 0.0 <= window.share <= 1.0 or window.end <= window.start:
        raise DemoWorldError(
            f"{where}: 'share' must be between 0 and 1 and 'until' after 'from'."
        )
    for text in (window.pickup, window.delivery):
        if "{code}" not in text or "{pin}" not in text:
            raise DemoWorldError(f"{where}: {text!r} needs both {{code}} and {{pin}}.")
    return window


def _check_drivers(script: IncidentScript, where: str) -> None:
    phoned = {entry.driver for entry in script.phones}
    texting = [
        step.text("driver")
        for incident in script.incidents
        for step in incident.steps
        if step.do == "driver_text"
    ]
    unknown = sorted(set(texting) - phoned)
    if unknown:
        raise DemoWorldError(
            f"{where}: drivers {', '.join(unknown)} text without a phone in "
            "'driver_phones'."
        )
    keys = [incident.key for incident in script.incidents]
    if len(set(keys)) != len(keys):
        raise DemoWorldError(f"{where}: two incidents share a key; keys are unique.")
