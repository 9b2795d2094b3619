"""The overview's read model: the day's numbers, the live table, the flow.

Every query here aggregates in the database and returns plain frozen
dataclasses, so a page can cache and draw them. None of them reads a name,
phone number or street address: parcels are shown by package code, or by
pseudonym to roles that may not see codes (see
:mod:`controlroom.overview.parcel_names`), places only as rounded
coordinates.

"Today" is the operator's local day (the ``timezone`` setting) around the
operating clock, which is the simulator's clock while a simulation runs.
The day's parcels are the ones *ordered* that day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from controlroom.clock import operating_now
from controlroom.errors import PackageCodeError, PermissionDenied
from controlroom.orders.codes import ALPHABET, CODE_LENGTH, format_code, normalise_code
from controlroom.orders.models import Parcel, ParcelStatus
from controlroom.overview.parcel_names import PACKAGE_CODES, ParcelNames
from controlroom.payments.models import Invoice, InvoiceStatus, PaymentMethod

STATUS_TABLE_LIMIT = 500
OPEN_STATUSES = (ParcelStatus.ORDERED, ParcelStatus.PICKED_UP)
_CODE_CONFUSABLES = {"O": "0", "I": "1", "L": "1"}
# Built once: an alias builds its own columns, which would cost every refresh.
_NEWER_INVOICE = aliased(Invoice, name="newer_invoice")


@dataclass(frozen=True)
class OperatingDay:
    """The operator's local day around the operating clock, in UTC."""

    now: datetime
    start: datetime
    end: datetime
    zone: str


def operating_day(session: Session, *, zone: str) -> OperatingDay:
    """Return today's bounds in ``zone`` around the operating clock."""
    now = operating_now(session)
    tz = ZoneInfo(zone)
    local_date = now.astimezone(tz).date()
    start = datetime.combine(local_date, time(0), tzinfo=tz)
    end = datetime.combine(local_date + timedelta(days=1), time(0), tzinfo=tz)
    # Converting each midnight separately keeps a DST day 23 or 25 hours long.
    utc = now.tzinfo
    return OperatingDay(now, start.astimezone(utc), end.astimezone(utc), zone)


def late_condition(now: datetime) -> ColumnElement[bool]:
    """A parcel is late if delivered after its window, or still out past it."""
    return or_(
        Parcel.delivered_at > Parcel.deliver_until,
        and_(Parcel.status.in_(OPEN_STATUSES), Parcel.deliver_until < now),
    )


def _ordered_within(day: OperatingDay) -> ColumnElement[bool]:
    return and_(Parcel.ordered_at >= day.start, Parcel.ordered_at < day.end)


def _settled_invoice_exists() -> ColumnElement[bool]:
    return exists().where(
        Invoice.parcel_id == Parcel.id, Invoice.status == InvoiceStatus.SETTLED
    )


def _count_when(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class DayKpis:
    """How far the day's parcels have got; ``late`` includes ``overdue``."""

    ordered: int
    paid: int
    picked_up: int
    delivered: int
    late: int
    overdue: int


def day_kpis(session: Session, *, day: OperatingDay) -> DayKpis:
    """Count the day's parcels at each step in one pass (conditional counts)."""
    overdue = and_(Parcel.status.in_(OPEN_STATUSES), Parcel.deliver_until < day.now)
    query = select(
        func.count(),
        _count_when(_settled_invoice_exists()),
        _count_when(Parcel.picked_up_at.is_not(None)),
        _count_when(Parcel.status == ParcelStatus.DELIVERED),
        _count_when(late_condition(day.now)),
        _count_when(overdue),
    ).where(_ordered_within(day))
    row = session.connection().execute(query).one()
    return DayKpis(*(int(value) for value in row))


@dataclass(frozen=True)
class ParcelFilter:
    """What the live status table is narrowed to; empty means everything."""

    statuses: tuple[ParcelStatus, ...] = ()
    payment_states: tuple[InvoiceStatus, ...] = ()
    methods: tuple[PaymentMethod, ...] = ()
    late_only: bool = False
    code: str = ""
    limit: int = STATUS_TABLE_LIMIT


@dataclass(frozen=True)
class ParcelRow:
    """One line of the live table: status and payment, never personal data.

    ``parcel`` is the package code, or the parcel's pseudonym for a role
    that may not see codes.
    """

    parcel: str
    status: ParcelStatus
    channel: str
    ordered_at: datetime
    deliver_until: datetime
    picked_up_at: datetime | None
    delivered_at: datetime | None
    late: bool
    method: PaymentMethod | None
    payment: InvoiceStatus | None
    payment_exception: str | None
    amount_sat: int | None
    paid_sat: int | None


def code_fragment(typed: str) -> str:
    """Return what a person typed as compact code symbols, for searching.

    A whole code is looked up exactly; part of one finds the codes that
    begin with it.

    Follows Crockford's reading rules like :func:`normalise_code` but keeps
    partial input, dropping anything that cannot occur in a code.
    """
    compact = []
    for char in typed.upper():
        char = _CODE_CONFUSABLES.get(char, char)
        if char in ALPHABET:
            compact.append(char)
    return "".join(compact)


def code_search_problem(typed: str) -> str | None:
    """Say why a typed code cannot match as typed, or ``None`` if it can.

    A character that never occurs in a code would otherwise be dropped
    silently, and a whole code with a wrong check symbol would just match
    nothing; both deserve a word to the person searching.
    """
    foreign = sorted(
        {
            char
            for char in typed.strip().upper()
            if char not in ALPHABET
            and char not in _CODE_CONFUSABLES
            and char not in " -"
        }
    )
    if foreign:
        return (
            f"{''.join(foreign)!r} never occurs in a package code (digits and "
            "letters only); it was left out of the search."
        )
    fragment = code_fragment(typed)
    if len(fragment) > CODE_LENGTH:
        return f"A package code has {CODE_LENGTH} letters and digits; this has more."
    if len(fragment) == CODE_LENGTH:
        try:
            normalise_code(fragment)
        except PackageCodeError as exc:
            return str(exc)
    return None


def _code_condition(typed: str) -> ColumnElement[bool] | None:
    fragment = code_fragment(typed)
    if not fragment:
        return None
    if len(fragment) == CODE_LENGTH:
        try:
            # A complete code is looked up through the unique index.
            return Parcel.code == format_code(normalise_code(fragment))
        except PackageCodeError:
            pass
    # Part of a code is read as its beginning, which the unique index on the
    # display form answers as a range: the fragment regrouped in fours.
    prefix = "-".join(fragment[i : i + 4] for i in range(0, len(fragment), 4))
    return and_(Parcel.code >= prefix, Parcel.code < prefix + "\x7f")


def _payment_conditions(filters: ParcelFilter) -> list[ColumnElement[bool]]:
    wanted: list[ColumnElement[bool]] = []
    if filters.payment_states:
        wanted.append(Invoice.status.in_(filters.payment_states))
    if filters.methods:
        wanted.append(Invoice.method.in_(filters.methods))
    if not filters.payment_states or InvoiceStatus.SETTLED in filters.payment_states:
        # Most invoices are settled: walking parcels newest-first finds a
        # page of them at once.
        return wanted
    # The other states are rare, and walking every parcel to find them is
    # slow; the candidate set lets the database start from the status index.
    candidates = select(Invoice.parcel_id).where(*wanted)
    return [*wanted, Parcel.id.in_(candidates)]


def parcel_rows(
    session: Session,
    *,
    day: OperatingDay,
    filters: ParcelFilter,
    names: ParcelNames = PACKAGE_CODES,
) -> list[ParcelRow]:
    """Return the newest parcels matching ``filters``, at most ``filters.limit``."""
    if filters.code.strip() and not names.show_codes:
        # A search by code answers "does this code exist": a code oracle.
        raise PermissionDenied(
            "Searching by package code is for roles that see package codes.",
            role="",
            action="search by package code",
        )

    # The parcel's newest invoice: no later one exists. Written as NOT EXISTS
    # rather than max(id) so a payment filter can start from the invoices.
    newer = _NEWER_INVOICE
    latest_invoice = and_(
        Invoice.parcel_id == Parcel.id,
        ~exists().where(newer.parcel_id == Invoice.parcel_id, newer.id > Invoice.id),
    )
    late = late_condition(day.now)
    query = (
        select(
            names.column,
            Parcel.status,
            Parcel.channel,
            Parcel.ordered_at,
            Parcel.deliver_until,
            Parcel.picked_up_at,
            Parcel.delivered_at,
            case((late, True), else_=False),
            Invoice.method,
            Invoice.status,
            Invoice.exception,
            Invoice.amount_sat,
            Invoice.paid_sat,
        )
        .select_from(Parcel)
        .outerjoin(Invoice, latest_invoice)
        .order_by(Parcel.ordered_at.desc(), Parcel.id.desc())
        .limit(filters.limit)
    )
    if filters.statuses:
        query = query.where(Parcel.status.in_(filters.statuses))
    if filters.payment_states or filters.methods:
        query = query.where(*_payment_conditions(filters))
    if filters.late_only:
        query = query.where(late)
    code = _code_condition(filters.code)
    if code is not None:
        query = query.where(code)

    return [
        ParcelRow(
            parcel=names.name(row[0]),
            status=row[1],
            channel=row[2].value,
            ordered_at=row[3],
            deliver_until=row[4],
            picked_up_at=row[5],
            delivered_at=row[6],
            late=bool(row[7]),
            method=row[8],
            payment=row[9],
            payment_exception=row[10].value if row[10] else None,
            amount_sat=row[11],
            paid_sat=row[12],
        )
        for row in session.connection().execute(query).all()
    ]


FLOW_STEPS = ("ordered", "paid", "picked up", "delivered")


@dataclass(frozen=True)
class ParcelFlow:
    """Cumulative counts of the day's parcels per step, bucket by bucket."""

    bucket_starts: list[datetime]
    cumulative: dict[str, list[int]] = field(default_factory=dict)


def _bucket(column: Any, day: OperatingDay, seconds: int, dialect: str) -> Any:
    start = int(day.start.timestamp())
    if dialect == "sqlite":
        # UTCDateTime stores naive UTC text that strftime('%s') reads as UTC;
        # the offset is never negative, so integer division floors it.
        seconds_since = cast(func.strftime("%s", column), Integer) - start
        return cast(seconds_since / seconds, Integer)
    elapsed = func.extract("epoch", column) - start
    return cast(func.floor(elapsed / seconds), Integer)


def parcel_flow(
    session: Session, *, day: OperatingDay, bucket_minutes: int = 15
) -> ParcelFlow:
    """Return the day's cumulative ordered/paid/picked-up/delivered counts."""
    seconds = bucket_minutes * 60
    dialect = session.get_bind().dialect.name
    cohort = _ordered_within(day)

    def step(name: str, column: Any, *where: Any, join: bool = False) -> Any:
        bucket = _bucket(column, day, seconds, dialect).label("bucket")
        query = select(literal(name).label("step"), bucket, func.count())
        if join:
            query = query.select_from(Parcel).join(
                Invoice, Invoice.parcel_id == Parcel.id
            )
        return query.where(cohort, column < day.end, *where).group_by(bucket)

    query = union_all(
        step("ordered", Parcel.ordered_at),
        step(
            "paid",
            Invoice.settled_at,
            Invoice.status == InvoiceStatus.SETTLED,
            join=True,
        ),
        step("picked up", Parcel.picked_up_at, Parcel.picked_up_at.is_not(None)),
        step("delivered", Parcel.delivered_at, Parcel.delivered_at.is_not(None)),
    )

    buckets = max(1, int((day.end - day.start).total_seconds()) // seconds)
    counts = {name: [0] * buckets for name in FLOW_STEPS}
    for name, bucket, count in session.connection().execute(query).all():
        counts[name][min(max(int(bucket), 0), buckets - 1)] += int(count)

    last = min(buckets, int((day.now - day.start).total_seconds()) // seconds + 1)
    last = max(last, 1)
    starts = [day.start + timedelta(seconds=seconds * i) for i in range(last)]
    cumulative = {}
    for name, series in counts.items():
        running, total = [], 0
        for value in series[:last]:
            total += value
            running.append(total)
        cumulative[name] = running
    return ParcelFlow(starts, cumulative)
