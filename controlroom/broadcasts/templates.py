"""Message templates: the purposes, their placeholders, checking and rendering.

Templates are Jinja2 text rendered in a sandbox with strict undefined
names, so a template a manager typed can neither reach Python objects nor
print an empty hole where a placeholder was misspelt. Autoescaping is off:
SMS and app texts are plain text, not HTML (the status site escapes on its
own when it writes pages).

No I/O here; :mod:`controlroom.broadcasts.template_store` keeps the texts.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

import controlroom
from controlroom.broadcasts.models import MessageChannel
from controlroom.errors import BroadcastError, TemplateRefused

DEFAULTS_FILE = (
    Path(controlroom.__file__).resolve().parent.parent
    / "data"
    / "message_templates.toml"
)


@dataclass(frozen=True)
class Purpose:
    """What a template is for, where it may go, and what it may name."""

    key: str
    label: str
    channels: tuple[MessageChannel, ...]
    placeholders: Mapping[str, str]  # name -> a sample value for previews


_INCIDENT_SAMPLES = {
    "incident": "Payment tracker down",
    "status": "investigating",
    "message": "Card and Lightning payments are delayed; parcels still move.",
    "next_update": "10:40",
    "area": "Grünerløkka",
}

PURPOSES: dict[str, Purpose] = {
    purpose.key: purpose
    for purpose in (
        Purpose(
            "incident_update_drivers",
            "Incident update to drivers",
            (MessageChannel.APP, MessageChannel.SMS),
            _INCIDENT_SAMPLES,
        ),
        Purpose(
            "incident_update_customers",
            "Incident update to customers",
            (MessageChannel.SMS, MessageChannel.STATUS_SITE),
            _INCIDENT_SAMPLES,
        ),
        Purpose(
            "parcel_picked_up",
            "Parcel picked up",
            (MessageChannel.SMS,),
            {"code": "7KQ2-9XWM-4TCZ", "when": "09:12"},
        ),
        Purpose(
            "parcel_delivered",
            "Parcel delivered",
            (MessageChannel.SMS,),
            {"code": "7KQ2-9XWM-4TCZ", "when": "13:05"},
        ),
        Purpose(
            "parcel_delayed",
            "Parcel delayed (with reason)",
            (MessageChannel.SMS,),
            {"code": "7KQ2-9XWM-4TCZ", "when": "11:30", "reason": "road closed"},
        ),
        Purpose(
            "driver_reply",
            "Reply to a driver's text",
            (MessageChannel.SMS,),
            {"reply": "OK: 7KQ2-9XWM-4TCZ picked up."},
        ),
    )
}

_ENVIRONMENT = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


def purpose_of(key: str) -> Purpose:
    """Return the purpose called ``key`` or say which ones exist."""
    try:
        return PURPOSES[key]
    except KeyError:
        raise BroadcastError(
            f"There is no message purpose {key!r}; use one of: {', '.join(PURPOSES)}."
        ) from None


def check_template(purpose: Purpose, channel: MessageChannel, body: str) -> None:
    """Refuse a template that cannot render: bad syntax or an unknown name.

    Raises
    ------
    TemplateRefused
        With the line of the problem and the placeholders allowed.
    """
    if channel not in purpose.channels:
        raise TemplateRefused(
            f"{purpose.label} is not sent by {channel.value}; its channels are "
            f"{', '.join(c.value for c in purpose.channels)}.",
            line=None,
        )
    if not body.strip():
        raise TemplateRefused(
            "The template is empty; write the text recipients should read.",
            line=None,
        )
    allowed = ", ".join(sorted(purpose.placeholders))
    try:
        tree = _ENVIRONMENT.parse(body)
    except TemplateSyntaxError as error:
        raise TemplateRefused(
            f"Line {error.lineno}: {error.message}. Placeholders are written "
            f"{{{{ name }}}}; allowed here: {allowed}.",
            line=error.lineno,
        ) from None

    _refuse_constructs(tree)
    # Names the template assigns itself ({% set %}, loop variables) are its
    # own; every other name it reads must be one of the purpose's.
    own = {node.name for node in tree.find_all(nodes.Name) if node.ctx != "load"}
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in own | set(purpose.placeholders):
            raise TemplateRefused(
                f"Line {node.lineno}: {{{{ {node.name} }}}} is not a placeholder "
                f"here; use one of: {allowed}.",
                line=node.lineno,
            )
    # What passes must also render, and stay short, with the sample values.
    sample = render(body, purpose.placeholders)
    if len(sample) > MAX_RENDERED:
        raise TemplateRefused(
            f"With sample values the text is {len(sample)} characters; a "
            f"message may have at most {MAX_RENDERED}.",
            line=None,
        )


# What a message template may be made of: text, placeholders, if / for /
# set, comparisons, and a few text filters. No includes, imports, macros,
# calls, attribute access or arithmetic: nothing that could load another
# template, reach into an object or blow a text up to megabytes.
_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.For,
    nodes.Assign,
    nodes.Filter,
    nodes.Test,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.CondExpr,
    nodes.Concat,
    nodes.Tuple,
    nodes.List,
)
_ALLOWED_FILTERS = frozenset(
    {"upper", "lower", "title", "capitalize", "trim", "default", "truncate"}
)
MAX_RENDERED = 1600  # ten SMS segments: far more than any message we send


def _refuse_constructs(tree: nodes.Template) -> None:
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            raise TemplateRefused(
                f"Line {node.lineno}: {type(node).__name__.lower()} is not "
                "allowed in a message template; use placeholders, "
                "{% if %}, {% for %} and {% set %}.",
                line=node.lineno,
            )
        if isinstance(node, nodes.Filter) and node.name not in _ALLOWED_FILTERS:
            raise TemplateRefused(
                f"Line {node.lineno}: the filter {node.name!r} is not allowed; "
                f"use one of: {', '.join(sorted(_ALLOWED_FILTERS))}.",
                line=node.lineno,
            )


def render(body: str, values: Mapping[str, object]) -> str:
    """Render a checked template with ``values``; surrounding space trimmed.

    Raises
    ------
    TemplateRefused
        A value is missing or the template tried something the sandbox
        forbids (reaching into an object's internals).
    """
    try:
        return _ENVIRONMENT.from_string(body).render(**values).strip()
    except TemplateSyntaxError as error:
        raise TemplateRefused(
            f"Line {error.lineno}: {error.message}.", line=error.lineno
        ) from None
    except UndefinedError as error:
        raise TemplateRefused(
            f"The template needs a value it was not given ({error.message}).",
            line=None,
        ) from None
    except SecurityError as error:
        raise TemplateRefused(
            f"The template tried something templates may not do ({error}).",
            line=None,
        ) from None
    except Exception as error:  # a stored template from before today's rules
        raise TemplateRefused(
            f"The template cannot be rendered ({type(error).__name__}: {error}); "
            "save it again on the Broadcasts screen.",
            line=None,
        ) from None


def sample_text(purpose: Purpose, body: str) -> str:
    """Render ``body`` with the purpose's sample values, for a preview."""
    return render(body, purpose.placeholders)


def load_defaults(path: Path = DEFAULTS_FILE) -> dict[tuple[str, MessageChannel], str]:
    """Read the default texts and check each one against its purpose.

    Raises
    ------
    BroadcastError
        The file is missing or malformed, or names an unknown purpose or
        channel, or a default fails its own check.
    """
    try:
        loaded = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BroadcastError(
            f"Cannot read the default message templates {path}: {error.strerror}."
        ) from error
    except tomllib.TOMLDecodeError as error:
        raise BroadcastError(f"{path} is not valid TOML ({error}).") from error

    defaults: dict[tuple[str, MessageChannel], str] = {}
    for key, channels in loaded.items():
        purpose = purpose_of(key)
        if not isinstance(channels, dict):
            raise BroadcastError(f"[{key}] in {path} must be a table of channels.")
        for channel_name, body in channels.items():
            try:
                channel = MessageChannel(channel_name)
            except ValueError:
                raise BroadcastError(
                    f"[{key}] in {path} names channel {channel_name!r}; use "
                    f"{', '.join(c.value for c in MessageChannel)}."
                ) from None
            check_template(purpose, channel, str(body))
            defaults[key, channel] = str(body)

    for purpose in PURPOSES.values():
        for channel in purpose.channels:
            if (purpose.key, channel) not in defaults:
                raise BroadcastError(
                    f"{path} has no {channel.value} text for {purpose.key}."
                )
    return defaults
