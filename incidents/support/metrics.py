"""TTD and TTR (HANDBOOK §10): their distributions by severity, service and month, the
incidents missing the times, and the charts, drawn here as SVG (no script, no library).

TTD is impact start → detection, TTR impact start → impact end. Medians are the usual
middle value (to the second); p90 is the nearest-rank 90th percentile (a real
incident's figure).

The figures come from each incident's TTD and TTR kept up to date at write time
(``figures``: month, severity, faulty service and the durations in microseconds). A
period's months are read from them, whole or, for its partly covered first and last
months, the incidents from one instant to another, and kept per month version
(``metrics_months``: a change patches the months it touched, or reads them again); the restricted
incidents the viewer may see (the stored figures hold none) are read one by one with
one indexed query. Neither reads a model instance. The exact medians still take every
duration of the period (merged with numpy), so ``page`` keeps the page's whole content
under the figures' version read from the database: the next viewer with the same query
reads it from the cache until a change commits.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from hashlib import sha256
from itertools import pairwise
from operator import itemgetter
from typing import Any, NamedTuple

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
    Window,
)
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from config.statements import Run, Statement, compile_query, compiled, fetch, fetch_named
from incidents import access
from incidents.models import (
    CLOSED_STATUSES,
    Incident,
    IncidentQuerySet,
    Service,
    Severity,
    Team,
)
from incidents.periods import MISSING_TIMES, in_range, period_bounds
from incidents.support import figures as stored
from incidents.support.figures import FiguresChange, month_of
from incidents.support.metrics_months import (
    CACHED_FOR,
    MONTH_FIELD,
    Durations,
    Month,
    Partial,
    Runs,
    Sorted,
    gathered,
    merged,
    month_cells,
    param,
    run,
    spanned,
)

# Histogram bins, upper bounds; the last bin holds everything longer. The labels are
# keys (CSV, tests); charts translate them as they draw.
BINS = [
    (timedelta(minutes=5), gettext_noop("<5m")),
    (timedelta(minutes=15), gettext_noop("5-15m")),
    (timedelta(minutes=30), gettext_noop("15-30m")),
    (timedelta(hours=1), gettext_noop("30m-1h")),
    (timedelta(hours=2), gettext_noop("1-2h")),
    (timedelta(hours=4), gettext_noop("2-4h")),
    (timedelta(hours=8), gettext_noop("4-8h")),
    (timedelta(days=1), gettext_noop("8h-1d")),
]
OVER = gettext_noop("over 1d")
MISSING_SHOWN = 50
# The page shows the last 90 days unless another period is chosen.
DEFAULT_PERIOD = "90"
PERIODS = {"30": 30, "90": 90, "365": 365, "all": None}
COLUMNS = (
    "pk",
    "key",
    "summary",
    "severity",
    "status",
    "faulty_service__name",
    "faulty_service__team__name",
    "impact_started_at",
    "detected_at",
    "impact_ended_at",
    "created_at",
)

TTD = ExpressionWrapper(F("detected_at") - F("impact_started_at"), output_field=DurationField())
TTR = ExpressionWrapper(F("impact_ended_at") - F("impact_started_at"), output_field=DurationField())
MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Row:
    key: str
    summary: str
    severity: int
    status: str
    service: str
    team: str
    impact_started_at: datetime | None
    detected_at: datetime | None
    impact_ended_at: datetime | None
    created_at: datetime

    @property
    def ttd(self) -> timedelta | None:
        if self.impact_started_at is None or self.detected_at is None:
            return None
        return self.detected_at - self.impact_started_at

    @property
    def ttr(self) -> timedelta | None:
        if self.impact_started_at is None or self.impact_ended_at is None:
            return None
        return self.impact_ended_at - self.impact_started_at

    @property
    def missing(self) -> list[str]:
        """The times a fixer should fill in (``MISSING_TIMES``), named by their fields'
        verbose names: the page translates them."""
        gaps = []
        if self.impact_started_at is None:
            gaps.append("impact started")
        if self.detected_at is None:
            gaps.append("detected")
        if self.status in CLOSED_STATUSES and self.impact_ended_at is None:
            gaps.append("impact ended")
        return gaps


@dataclass(frozen=True)
class Summary:
    count: int
    median: timedelta | None
    p90: timedelta | None


def _to_second(value: timedelta) -> timedelta:
    return timedelta(seconds=round(value.total_seconds()))


# Summaries of sorted arrays this process summed up, by the array's identity, while it
# lives (a weak reference drops the entry with the array): a change leaves most of a
# page's arrays the same objects (``metrics_months.PLACES``), and their summaries with them.
_SUMMARIES: dict[int, tuple[weakref.ref[Durations], Summary]] = {}


def summarize(ordered: Durations) -> Summary:
    """The summary of sorted microseconds. The median in the arithmetic of
    ``statistics.median`` over seconds; p90 the first value at or past 90% (as
    PostgreSQL's ``percentile_disc``)."""
    key = id(ordered)
    kept = _SUMMARIES.get(key)
    if kept is not None and kept[0]() is ordered:
        return kept[1]
    summary = _summary(ordered)
    _SUMMARIES[key] = weakref.ref(ordered, lambda _gone: _SUMMARIES.pop(key, None)), summary
    return summary


def _summary(ordered: Durations) -> Summary:
    count = len(ordered)
    if not count:
        return Summary(count=0, median=None, p90=None)
    middle = count // 2
    if count % 2:
        seconds = ordered.item(middle) / 1_000_000
    else:
        seconds = (ordered.item(middle - 1) / 1_000_000 + ordered.item(middle) / 1_000_000) / 2
    rank = max(1, math.ceil(0.9 * count))
    return Summary(
        count=count,
        median=_to_second(timedelta(seconds=seconds)),
        p90=timedelta(microseconds=ordered.item(rank - 1)),
    )


BOUNDS = [bound // MICROSECOND for bound, _ in BINS]


def histogram(ordered: Durations) -> list[tuple[str, int]]:
    """Bin counts of sorted microseconds: the values below each bound, by bisection."""
    below = [*ordered.searchsorted(BOUNDS).tolist(), len(ordered)]
    counts = [below[0]] + [high - low for low, high in pairwise(below)]
    return list(zip([label for _, label in BINS] + [OVER], counts, strict=True))


Group = tuple[str, Summary, Summary]


@dataclass
class Metrics:
    count: int
    ttd: Summary
    ttr: Summary
    ttd_histogram: list[tuple[str, int]]
    ttr_histogram: list[tuple[str, int]]
    by_severity: list[Group]
    by_service: list[Group]
    by_month: list[Group]
    missing: list[Row] = field(default_factory=list)
    missing_count: int = 0
    # What the page's filters offer: (slug, name), by name.
    teams: list[tuple[str, str]] = field(default_factory=list)
    services: list[tuple[str, str]] = field(default_factory=list)


# The period ------------------------------------------------------------------------------


def period_since(period: str, *, today: date | None = None) -> date | None:
    """The first day of a named period ending today; None for all time."""
    days = PERIODS[period]
    if days is None:
        return None
    return (today or timezone.localdate()) - timedelta(days=days)


def filtered(
    incidents: IncidentQuerySet,
    *,
    since: date | None = None,
    until: date | None = None,
    team: str = "",
    service: str = "",
    severity: int | None = None,
) -> IncidentQuerySet:
    """The incidents the page counts for these filters (the CSV export's)."""
    start, end = period_bounds(since, until)
    return chosen(incidents, start, end, team=team, service=service, severity=severity)


def chosen(
    incidents: IncidentQuerySet,
    start: datetime | None,
    end: datetime | None,
    *,
    team: str = "",
    service: str = "",
    severity: int | None = None,
) -> IncidentQuerySet:
    """The incidents of the period from ``start`` to ``end`` (``periods.in_range``), of
    the team, the service and the severity asked."""
    incidents = in_range(incidents, start, end)
    if team:
        incidents = incidents.filter(faulty_service__team__slug=team)
    if service:
        incidents = incidents.filter(faulty_service__slug=service)
    if severity is not None:
        incidents = incidents.filter(severity=severity)
    return incidents


# Reading ----------------------------------------------------------------------------------


def rows(incidents: IncidentQuerySet) -> Iterator[Row]:
    """One query, streamed: plain tuples, no model instances (the CSV export)."""
    values = incidents.order_by("number").values_list(*COLUMNS)
    for values_row in values.iterator(chunk_size=5000):
        yield _row(values_row)


def _month(month: date) -> str:
    return month.strftime("%Y-%m")


def _severity(value: int) -> str:
    return str(Severity(value).label)


def _row(values_row: Sequence[Any]) -> Row:
    _, key, summary, severity, status, service, team, started, detected, ended, created = values_row
    return Row(
        key=key,
        summary=summary,
        severity=severity,
        status=status,
        service=service,
        team=team or "",
        impact_started_at=started,
        detected_at=detected,
        impact_ended_at=ended,
        created_at=created,
    )


class Page(NamedTuple):
    # The figures, where they were computed for this page (None: read from the cache).
    figures: Metrics | None
    content: str
    status: int
    # The restricted incidents counted: the page is the same for everyone who sees these.
    restricted: tuple[int, ...]


# In the pages' cache keys: a page kept in an earlier shape is never read (3: the
# content and status, without the figures).
PAGE_FORMAT = 3


def page(
    user: User | AnonymousUser,
    *,
    vary: tuple[Any, ...],
    render: Callable[[tuple[int, ...]], tuple[Metrics, str, int]],
) -> Page:
    """The page's rendering and its status (``render``, which computes the figures), once per
    version of the figures (``figures.FiguresChange``) for every viewer who sees the same
    restricted incidents and asks the same (``vary``: the query, what else the rendering
    depends on). On a page already shown: one round trip and one cache read, nothing
    parsed or rendered; a rendering that answers an error, or one for someone who may
    see no incident, is not kept. ``render`` is given the restricted incidents ``user``
    sees (``compute``'s ``restricted``). The figures come along where computed for this
    page (None when read from the cache)."""
    version, restricted = _version_and_restricted(user)
    if restricted is None:  # someone who may see no incident: never another's page
        return Page(*render(()), ())
    context = (translation.get_language(), timezone.get_current_timezone_name())
    token = repr((stored.database(), version, restricted, context, vary))
    key = f"metrics:{PAGE_FORMAT}:{sha256(token.encode()).hexdigest()}"
    cached: tuple[str, int] | None = cache.get(key)
    if cached is not None:
        return Page(None, *cached, restricted)
    figures, content, status = render(restricted)
    if status == 200:
        cache.set(key, (content, status), timeout=CACHED_FOR)
    return Page(figures, content, status, restricted)


def _version_and_restricted(user: User | AnonymousUser) -> tuple[int, tuple[int, ...] | None]:
    """The figures' version and the restricted incidents ``user`` sees (None if they may
    see no incident), in one round trip (the version first: what is read after is at
    least as new). Compiled once per thread, and the restricted incidents' once per set
    of permissions (``config.statements``): building the viewer's visibility and
    compiling it cost more than the page read from the cache."""
    version = compiled("metrics-version", _version_statement)
    seen = _restricted_statement(user)
    found = fetch([(version, version.params)] + ([run(seen, user.pk)] if seen else []))
    total = found[0][0][0] if found[0] else None
    restricted = tuple(sorted(pk for (pk,) in found[1])) if seen is not None else None
    return int(total or 0), restricted


def _version_statement() -> Statement:
    # One row, NULL without any change: the sum over every change logged.
    total = FiguresChange.objects.order_by().values(one=Value(1)).annotate(n=Sum("changes"))
    return compile_query(total.values_list("n"))


def _restricted_statement(user: User | AnonymousUser) -> Statement | None:
    def compile_() -> Statement | None:
        restricted = access.shared_incidents(user).filter(restricted=True).order_by()
        try:
            return access.compile_shared(restricted.values_list("pk"), user)
        except EmptyResultSet:  # someone who may see no incident
            return None

    return compiled(("metrics-restricted", access.visibility_shape(user)), compile_)


def compute(
    user: User | AnonymousUser,
    *,
    since: date | None = None,
    until: date | None = None,
    team: str = "",
    service: str = "",
    severity: int | None = None,
    restricted: tuple[int, ...] | None = None,
) -> Metrics:
    """Every figure of the page ``user`` sees from the stored figures, in a constant
    number of queries whatever the number of incidents.

    What the viewer may see (``Incident.objects.visible_to``) is every unrestricted
    incident, whose stored figures serve the period's months, whole or in part
    (``month_cells``), and the restricted ones they may see, read one by one with one
    indexed query: none when the viewer sees no restricted incident (``restricted``,
    where known: the ids, as ``page`` reads them). The reads are compiled once per
    thread, set of permissions and shape of the filters (``config.statements``:
    building them cost more than running them) and sent together."""
    start, end = period_bounds(since, until)
    if start is not None and end is not None and end <= start:
        return nothing()  # a period that ends before it starts holds no incident
    first, last = _whole_months(start, end)
    whole = first is None or last is None or first < last
    parts = _parts(start, end)
    filters = _Filters(start, end, team, service)
    shape = _Shape(
        filters.shape(),
        severity,
        whole,
        first is not None,
        last is not None,
        len(parts),
        restricted != (),
    )
    statements = _statements(user, shape)
    if statements is None:  # someone who may see no incident
        return nothing()
    runs = {
        "versions": [
            run(
                statements.versions,
                *[
                    param(MONTH_FIELD, month)
                    for month in _months_asked(whole, first, last, [month for month, *_ in parts])
                ],
            )
        ],
        "catalogue": _catalogue_runs(),
        "missing": [run(statements.missing, *filters.values(), user.pk)],
    }
    if statements.restricted is not None:
        runs["restricted"] = [run(statements.restricted, *filters.values(), user.pk)]
    fetched = fetch_named(runs)

    figures = _Figures()
    services = {pk: rest for pk, *rest in fetched["catalogue"][0]}
    picked = team or service or severity is not None
    names = {pk: name for pk, (name, *_) in services.items()}
    unfiltered: dict[date, Month] = {}
    for month, kept in month_cells(fetched["versions"][0], parts).items():
        # A deleted service took its incidents' figures with it: its cells stay out.
        if not picked and kept.services <= services.keys():
            unfiltered[month] = kept
            continue
        for (started, cell_severity, service_id), (count, ttds, ttrs) in kept.cells.items():
            name, slug, team_slug = services.get(service_id, (None, None, None))
            if name is None or (team and team_slug != team) or (service and slug != service):
                continue
            if severity is not None and cell_severity != severity:
                continue
            figures.add(cell_severity, name, month if started else None, count, [ttds], [ttrs])
    if unfiltered:
        figures.add_months(unfiltered, names)
    if "restricted" in fetched:
        figures.add_rows(fetched["restricted"][0])
    # The latest ones, each with how many there are in all.
    shown = fetched["missing"][0]
    return figures.metrics(
        missing=[_row(values_row[:-1]) for values_row in shown],
        missing_count=shown[0][-1] if shown else 0,
        catalogue=fetched["catalogue"],
    )


def nothing() -> Metrics:
    """The figures of no incident at all (a query the page refuses), with what its
    filters offer."""
    return _Figures().metrics(missing=[], missing_count=0, catalogue=fetch(_catalogue_runs()))


def _catalogue_runs() -> list[Run]:
    """The services (id, name, slug, team's slug) and the teams (slug, name), by name."""

    def compile_() -> tuple[Statement, Statement]:
        services = Service.objects.values_list("pk", "name", "slug", "team__slug")
        return compile_query(services), compile_query(Team.objects.values_list("slug", "name"))

    return [(statement, statement.params) for statement in compiled("metrics-catalogue", compile_)]


class _Filters(NamedTuple):
    """The page's filters its statements take as values; None or "" where not asked. A
    severity is one of a few: statements are compiled for each (Django refuses a
    sentinel outside the column's range, and one inside it could be an id)."""

    start: datetime | None
    end: datetime | None
    team: str
    service: str

    def shape(self) -> tuple[bool, ...]:
        return tuple(value is not None and value != "" for value in self)

    def values(self) -> list[Any]:
        """The values asked, in order, as the statements' sentinels stand for them."""
        return [
            param(field, value)
            for field, value in zip(_FILTER_FIELDS, self, strict=True)
            if value is not None and value != ""
        ]


# Compiled in place of each run's values (``config.statements.compile_query``): instants
# and months no period has, and slugs no one gives.
_SENTINELS = _Filters(
    datetime(1970, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    datetime(1970, 1, 3, 4, 5, 6, 789012, tzinfo=UTC),
    "metrics-sentinel-team",
    "metrics-sentinel-service",
)
_FILTER_FIELDS = (
    Incident._meta.get_field("created_at"),
    Incident._meta.get_field("created_at"),
    Team._meta.get_field("slug"),
    Service._meta.get_field("slug"),
)
_MONTHS = (date(1901, 1, 1), date(1901, 2, 1), date(1901, 3, 1), date(1901, 4, 1))


def _months_asked(
    whole: bool, first: date | None, last: date | None, parts: Sequence[date]
) -> list[date]:
    """The months whose versions a period reads: its whole months' bounds (where it has
    whole months and they are bounded) and the months it covers in part."""
    return [month for month in (first, last) if whole and month is not None] + list(parts)


class _Statements(NamedTuple):
    versions: Statement
    missing: Statement
    restricted: Statement | None


class _Shape(NamedTuple):
    """What the statements' SQL depends on besides the viewer."""

    asked: tuple[bool, ...]  # which of the filters' values (``_Filters``) are given
    severity: int | None
    whole: bool  # the period has whole months
    first: bool  # they have a first (the period a start)
    last: bool  # and a last
    parts: int  # the months it covers in part
    restricted: bool  # the viewer may see restricted incidents in it


def _statements(user: User | AnonymousUser, shape: _Shape) -> _Statements | None:
    """The page's statements for ``user`` (None if they may see no incident), compiled
    once per thread, set of permissions and ``shape``."""

    def compile_() -> _Statements | None:
        try:
            return _compile(user, shape)
        except EmptyResultSet:  # someone who may see no incident
            return None

    return compiled(("metrics", access.visibility_shape(user), shape), compile_)


def _compile(user: User | AnonymousUser, shape: _Shape) -> _Statements:
    asked, severity, whole, first, last, parts, restricted = shape
    start = _SENTINELS.start if asked[0] else None
    end = _SENTINELS.end if asked[1] else None
    team = _SENTINELS.team if asked[2] else ""
    service = _SENTINELS.service if asked[3] else ""
    sentinels = [param(f, v) for f, v in zip(_FILTER_FIELDS, _SENTINELS, strict=True)]
    sentinels = [value for value, wanted in zip(sentinels, asked, strict=True) if wanted]

    # The months' versions: those wholly in the period and those it covers in part.
    asked_first = _MONTHS[0] if first else None
    asked_last = _MONTHS[1] if last else None
    in_part = _MONTHS[2 : 2 + parts]
    whole_months = Q()
    if whole and asked_first is not None:
        whole_months &= Q(month__gte=asked_first)
    if whole and asked_last is not None:
        whole_months &= Q(month__lt=asked_last)
    wanted = Q(month__in=in_part) if parts else Q()
    if whole:  # an open period has no partly covered month
        wanted = (whole_months | wanted) if whole_months and wanted else whole_months
    log = FiguresChange.objects.filter(wanted, month__isnull=False).order_by()
    versions = log.values("month").annotate(n=Sum("changes")).values_list("month", "n")
    month_params = [
        param(MONTH_FIELD, month)
        for month in _months_asked(whole, asked_first, asked_last, in_part)
    ]

    visible = access.shared_incidents(user)
    if visible.query.is_empty():
        raise EmptyResultSet
    period = chosen(visible, start, end, team=team, service=service, severity=severity)
    missing = (
        period.filter(MISSING_TIMES)
        .order_by("-number")
        .annotate(missing_count=Window(Count("pk")))
        .values_list(*COLUMNS, "missing_count")[:MISSING_SHOWN]
    )
    # In ``ROW_VALUES``' order: the incidents of a cell next to each other.
    seen = period.filter(restricted=True).annotate(ttd_=TTD, ttr_=TTR)
    seen = seen.order_by("severity", "faulty_service__name", "impact_started_at")
    # The filters' values once each, then the viewer's id (``access.compile_shared``).
    counts = [1] * len(sentinels)
    return _Statements(
        compile_query(versions, sentinels=month_params, counts=[1] * len(month_params)),
        access.compile_shared(missing, user, sentinels=sentinels, counts=counts),
        access.compile_shared(
            seen.values_list(*ROW_VALUES), user, sentinels=sentinels, counts=counts
        )
        if restricted
        else None,
    )


def _month_start(at: datetime, *, after: bool) -> date:
    """The UTC month that ``at`` falls in, or the next one if ``after`` and ``at`` is
    not that month's first instant."""
    month = month_of(at)
    if after and _instant(month) < at:
        month = _next_month(month)
    return month


def _whole_months(start: datetime | None, end: datetime | None) -> tuple[date | None, date | None]:
    """The stored figures' share of the period: the months from ``first`` (included) to
    ``last`` (excluded) lie wholly inside it; None where the period is open."""
    return (
        _month_start(start, after=True) if start is not None else None,
        _month_start(end, after=False) if end is not None else None,
    )


def _instant(month: date) -> datetime:
    return datetime.combine(month, time.min, tzinfo=UTC)


def _parts(start: datetime | None, end: datetime | None) -> list[Partial]:
    """The months the period covers in part (its first and its last, unless it starts
    or ends on a month's first instant), each with the instants it covers."""
    edges = {month_of(at) for at in (start, end) if at is not None}
    parts = []
    for month in sorted(edges):
        after, before = _instant(month), _instant(_next_month(month))
        covered = (max(after, start) if start else after, min(before, end) if end else before)
        if covered != (after, before) and covered[0] < covered[1]:
            parts.append((month, *covered))
    return parts


def _next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


# What the page reads of each incident read one by one.
ROW_VALUES = ("severity", "faulty_service__name", "impact_started_at", "ttd_", "ttr_")


class _Figures:
    """Sorted runs of microseconds gathered per group by their raw keys (severity,
    service name, month); merging, names and summaries once per group at the end."""

    def __init__(self) -> None:
        self.count = 0
        self.groupings: tuple[dict[Any, Runs], ...] = ({}, {}, {})
        self.every: Runs = ([], [])

    def add(
        self,
        severity: int,
        service: str,
        month: date | None,
        count: int,
        ttd: list[Durations],
        ttr: list[Durations],
    ) -> None:
        self.count += count
        self.add_runs(0, severity, ttd, ttr)
        self.add_runs(1, service, ttd, ttr)
        if month is not None:
            self.add_runs(2, month, ttd, ttr)
        self.every[0].extend(ttd)
        self.every[1].extend(ttr)

    def add_months(self, months: dict[date, Month], names: dict[int, str]) -> None:
        """Every figure of ``months`` (a page without filters), merged as a tree of
        spans (``spanned``); ``names``: the services' by id, which must name every
        service of the months."""
        span = spanned([months[month] for month in sorted(months)])
        self.count += span.incidents
        for severity, (ttds, ttrs) in span.by_severity.items():
            self.add_runs(0, severity, [ttds], [ttrs])
        for service_id, (ttds, ttrs) in span.by_service.items():
            self.add_runs(1, names[service_id], [ttds], [ttrs])
        for month, kept in months.items():
            if kept.started is not None:
                self.add_runs(2, month, [kept.started[0]], [kept.started[1]])
        self.every[0].append(span.total[0])
        self.every[1].append(span.total[1])

    def add_runs(self, grouping: int, key: Any, ttd: list[Durations], ttr: list[Durations]) -> None:
        """Sorted runs to one group: ``grouping`` 0 by severity, 1 by service, 2 by month."""
        runs = self.groupings[grouping].get(key)
        if runs is None:
            self.groupings[grouping][key] = runs = ([], [])
        runs[0].extend(ttd)
        runs[1].extend(ttr)

    def add_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Incidents read one by one (``ROW_VALUES``, in its order), gathered into
        cells first."""
        keyed = [
            (
                severity,
                service,
                month_of(started_at) if started_at is not None else None,
                ttd // MICROSECOND if ttd is not None else None,
                ttr // MICROSECOND if ttr is not None else None,
            )
            for severity, service, started_at, ttd, ttr in rows
        ]
        for (severity, service, month), (count, ttds, ttrs) in gathered(keyed).items():
            self.add(severity, service, month, count, [ttds], [ttrs])

    def metrics(
        self, *, missing: list[Row], missing_count: int, catalogue: list[list[Sequence[Any]]]
    ) -> Metrics:
        """The figures; ``catalogue``: the rows of ``_catalogue_runs``."""
        by_severity, by_service, by_month = (
            {key: (merged(ttds), merged(ttrs)) for key, (ttds, ttrs) in grouping.items()}
            for grouping in self.groupings
        )
        ttd, ttr = merged(self.every[0]), merged(self.every[1])

        def listed(grouping: dict[Any, Sorted], name_of: Any) -> list[Group]:
            named = [(name_of(key), ttds, ttrs) for key, (ttds, ttrs) in grouping.items()]
            named.sort(key=itemgetter(0))
            return [(name, summarize(ttds), summarize(ttrs)) for name, ttds, ttrs in named]

        return Metrics(
            count=self.count,
            ttd=summarize(ttd),
            ttr=summarize(ttr),
            ttd_histogram=histogram(ttd),
            ttr_histogram=histogram(ttr),
            by_severity=listed(by_severity, _severity),
            by_service=listed(by_service, str),
            by_month=listed(by_month, _month),
            missing=missing,
            missing_count=missing_count,
            teams=[(slug, name) for slug, name in catalogue[1]],
            services=[(slug, name) for _pk, name, slug, _team in catalogue[0]],
        )
