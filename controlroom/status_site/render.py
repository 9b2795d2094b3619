"""The public index page, as text: components, incidents, the lookup form.

Pure rendering from a :class:`SiteSnapshot`; every value from the database
is escaped. The page loads only ``site.css`` and ``site.js`` from its own
folder, and its Content-Security-Policy says so, so a browser refuses any
other request even if a later edit added one by mistake. ``form-action
'none'`` and a nameless input keep a code out of every URL: without
JavaScript the form cannot be sent at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from controlroom.health.models import ComponentState
from controlroom.incidents.public import PublicIncident
from controlroom.status_site.records import local_minute
from controlroom.status_site.snapshot import SiteSnapshot

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'"
)
TITLE = "CryptoPack status"


def utc_stamp(moment: datetime) -> str:
    """Return a moment as ISO 8601 UTC, e.g. ``2026-12-04T12:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def keep_words(snapshot: SiteSnapshot) -> str:
    """Say which parcels can be looked up."""
    return (
        f"Parcels ordered in the last {snapshot.options.keep_days} days, and "
        "every parcel still on its way, can be looked up. Check the code on "
        "your receipt or text message."
    )


def render_index(snapshot: SiteSnapshot) -> str:
    """Return the index page of the site."""
    zone = snapshot.options.zone
    generated = local_minute(snapshot.generated_at, zone)
    stamp = utc_stamp(snapshot.generated_at)
    stale_minutes = int(snapshot.options.stale_after.total_seconds() // 60)
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="robots" content="noindex">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{TITLE}</title>",
        '<link rel="stylesheet" href="site.css">',
        '<script src="site.js" defer></script>',
        "</head>",
        f'<body data-generated="{stamp}"'
        f' data-stale-after="{int(snapshot.options.stale_after.total_seconds())}"'
        f' data-salt="{escape(snapshot.options.salt)}"'
        f' data-prefix-digits="2"'
        f' data-keep-words="{escape(keep_words(snapshot))}">',
        '<div id="stale" class="stale" role="alert" hidden></div>',
        "<header>",
        f"<h1>{TITLE}</h1>",
        f'<p class="generated">Generated <time datetime="{stamp}">'
        f"{escape(generated)}</time>. If that is more than {stale_minutes} "
        "minutes ago, this page may be out of date.</p>",
        "</header>",
        *_services_section(snapshot),
        *_lookup_section(snapshot),
        *_incidents_section(snapshot),
        "<footer><p>This page sets no cookies, loads nothing from other "
        "sites and keeps no record of the codes you look up.</p></footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _services_section(snapshot: SiteSnapshot) -> list[str]:
    troubled = [
        s for s in snapshot.services if s.state is not ComponentState.OPERATIONAL
    ]
    if troubled:
        overall = (
            '<p class="overall trouble">Some services are affected: '
            + (", ".join(escape(s.name) for s in troubled))
            + ".</p>"
        )
    else:
        overall = '<p class="overall">All services are working normally.</p>'
    lines = ['<section id="services">', "<h2>Services</h2>", overall]
    lines.append('<ul class="services">')
    for service in snapshot.services:
        lines.append(
            f'<li><span class="name">{escape(service.name)}</span>'
            f' <span class="state state-{service.state.value}">'
            f"{escape(service.words)}</span>"
            f' <span class="about">{escape(service.description)}</span></li>'
        )
    lines += ["</ul>", "</section>"]
    return lines


def _lookup_section(snapshot: SiteSnapshot) -> list[str]:
    return [
        '<section id="lookup">',
        "<h2>Where is my parcel?</h2>",
        '<form id="lookup-form" hidden>',
        '<label for="code">Package code</label>',
        '<input id="code" type="text" autocomplete="off" autocapitalize="characters"'
        ' spellcheck="false" placeholder="7KQ2-9XWM-4TCZ" maxlength="40">',
        '<button type="submit">Look up</button>',
        "</form>",
        '<div id="lookup-result" class="result" role="status" aria-live="polite"'
        " hidden></div>",
        '<noscript><p class="note">The lookup by package code runs in your '
        "browser and needs JavaScript; the code never leaves your device."
        "</p></noscript>",
        f'<p class="note">{escape(keep_words(snapshot))} The page shows only '
        "the status, the day and two-hour window of the latest step, and the "
        "city: never names, addresses or payments.</p>",
        "</section>",
    ]


def _incidents_section(snapshot: SiteSnapshot) -> list[str]:
    lines = ['<section id="incidents">', "<h2>Incidents</h2>"]
    if not snapshot.incidents:
        lines.append(
            f'<p class="note">No incidents in the last {snapshot.options.keep_days}'
            " days.</p>"
        )
    pairs = zip(snapshot.incidents, snapshot.incident_services, strict=True)
    for incident, services in pairs:
        lines += _incident(incident, services, snapshot.options.zone)
    lines.append("</section>")
    return lines


def _incident(
    incident: PublicIncident, services: tuple[str, ...], zone: str
) -> list[str]:
    # No severity: "SEV2 major" is the control room's word, not a customer's.
    state = "Resolved" if incident.resolved_at is not None else "Ongoing"
    meta = [state, f"started {escape(local_minute(incident.started_at, zone))}"]
    if incident.resolved_at is not None:
        meta.append(f"resolved {escape(local_minute(incident.resolved_at, zone))}")
    if services:
        meta.append("affects " + ", ".join(escape(s) for s in services))
    lines = [
        '<article class="incident">',
        f"<h3>{escape(incident.title)}</h3>",
        f'<p class="meta">{" · ".join(meta)}</p>',
        "<ol>",
    ]
    for update in incident.updates:
        stamp = utc_stamp(update.at)
        label = update.status.value.capitalize()
        # A report that already opens with its status word says it once.
        prefix = "" if update.text.lower().startswith(label.lower()) else f"{label} — "
        lines.append(
            f'<li><time datetime="{stamp}">{escape(local_minute(update.at, zone))}'
            f"</time> · {escape(prefix)}{escape(update.text)}</li>"
        )
    if not incident.updates:
        lines.append("<li>No update published yet.</li>")
    lines += ["</ol>", "</article>"]
    return lines
