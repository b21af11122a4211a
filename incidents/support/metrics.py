"""TTD and TTR (HANDBOOK §10): their distributions by severity, service and month, the
incidents missing the times, and the charts, drawn here as SVG (no script, no library).

TTD is impact start → detection, TTR impact start → impact end. Medians are the usual
middle value (to the second); p90 is the nearest-rank 90th percentile (a real
incident's figure).

The figures come from each incident's TTD and TTR kept up to date at write time
(``rollups``: month, severity, faulty service and the durations in microseconds). A
period's whole months are read from them; the incidents of its partly covered first
and last months, and the restricted ones the viewer may see (the stored figures hold
none), are read one by one with one indexed query. Neither reads a model instance nor
computes a duration. The exact medians still take every duration of the period through
Python, so ``page`` keeps what it computed, and the rendering, under the figures'
version: the next viewer with the same filters reads it from the cache until a change
starts a new version.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from hashlib import sha256
from itertools import chain, pairwise
from typing import Any

from django.core.cache import cache
from django.db.models import DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from incidents.models import CLOSED_STATUSES, IncidentQuerySet, Service, Severity, Team
from incidents.periods import MISSING_TIMES, PERIOD_AT, in_period
from incidents.support import rollups
from incidents.support.rollups import IncidentFigures, month_of

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
# A computed page is kept until the figures change; this bounds what a forgotten
# period (yesterday's "last 90 days") holds in the cache.
CACHED_FOR = 24 * 3600
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
MONTH = TruncMonth("impact_started_at", tzinfo=UTC)
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


def summarize(ordered: list[int]) -> Summary:
    """The summary of sorted microseconds. The median in the arithmetic of
    ``statistics.median`` over seconds; p90 the first value at or past 90% (as
    PostgreSQL's ``percentile_disc``)."""
    if not ordered:
        return Summary(count=0, median=None, p90=None)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        seconds = ordered[middle] / 1_000_000
    else:
        seconds = (ordered[middle - 1] / 1_000_000 + ordered[middle] / 1_000_000) / 2
    rank = max(1, math.ceil(0.9 * len(ordered)))
    return Summary(
        count=len(ordered),
        median=_to_second(timedelta(seconds=seconds)),
        p90=timedelta(microseconds=ordered[rank - 1]),
    )


BOUNDS = [bound // MICROSECOND for bound, _ in BINS]


def histogram(ordered: list[int]) -> list[tuple[str, int]]:
    """Bin counts of sorted microseconds: the values below each bound, by bisection."""
    below = [bisect_left(ordered, bound) for bound in BOUNDS] + [len(ordered)]
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
    incidents = in_period(incidents, since, until)
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


def _row(values_row: tuple[Any, ...]) -> Row:
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


def page(
    visible: IncidentQuerySet,
    filters: dict[str, Any],
    *,
    render: Callable[[Metrics], str],
    vary: tuple[Any, ...] = (),
) -> tuple[Metrics, str]:
    """The page's figures and their rendering (``render``), computed once per version
    of the roll-ups (``rollups`` starts a new one with every change they count) for
    every viewer who sees the same restricted incidents: one small query and one cache
    read on a page already shown. ``vary`` names what else the rendering depends on."""
    if visible.query.is_empty():
        figures = compute(visible, **filters)
        return figures, render(figures)
    restricted = tuple(visible.filter(restricted=True).order_by("pk").values_list("pk", flat=True))
    context = (translation.get_language(), timezone.get_current_timezone_name())
    token = repr((rollups.version(), restricted, sorted(filters.items()), context, vary))
    key = f"metrics:{sha256(token.encode()).hexdigest()}"
    cached = cache.get(key)
    if cached is None:
        figures = compute(visible, **filters)
        cached = (figures, render(figures))
        cache.set(key, cached, timeout=CACHED_FOR)
    return cached


def catalogue() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The teams and services the filters offer, cached as the figures are (a change of
    either starts a new version)."""
    key = f"metrics:catalogue:{rollups.version()}"
    cached = cache.get(key)
    if cached is None:
        cached = (
            list(Team.objects.values("slug", "name")),
            list(Service.objects.values("slug", "name")),
        )
        cache.set(key, cached, timeout=CACHED_FOR)
    return cached


def compute(
    visible: IncidentQuerySet,
    *,
    since: date | None = None,
    until: date | None = None,
    team: str = "",
    service: str = "",
    severity: int | None = None,
) -> Metrics:
    """Every figure of the page from the stored figures, in four queries whatever the
    number of incidents (three when none misses a time).

    ``visible`` is what the viewer may see (``Incident.objects.visible_to``): every
    unrestricted incident, whose stored figures serve whole months, and the restricted
    ones they may see. Those, and the incidents of a period's partly covered first and
    last months, are read one by one with one indexed query."""
    start, end = period_bounds(since, until)
    first, last = _whole_months(start, end)
    figures = _Figures()
    stored = IncidentFigures.objects.all()
    if first is not None:
        stored = stored.filter(month__gte=first)
    if last is not None:
        stored = stored.filter(month__lt=last)
    if first is not None and last is not None and first >= last:
        stored = stored.none()
    if team:
        stored = stored.filter(service__team__slug=team)
    if service:
        stored = stored.filter(service__slug=service)
    if severity is not None:
        stored = stored.filter(severity=severity)
    if visible.query.is_empty():
        stored = stored.none()
    figures.add_stored(stored.order_by().values_list(*STORED_VALUES))

    incidents = filtered(visible, team=team, service=service, severity=severity).order_by()
    for row in _one_by_one(incidents, start, end, first, last).values_list(*ROW_VALUES):
        figures.add_row(*row)

    missing = filtered(visible, since=since, until=until, team=team, service=service)
    if severity is not None:
        missing = missing.filter(severity=severity)
    missing = missing.filter(MISSING_TIMES)
    missing_count = missing.order_by().count()
    shown = missing.order_by("-number").values_list(*COLUMNS)[:MISSING_SHOWN]
    return figures.metrics(
        missing=[_row(values_row) for values_row in shown] if missing_count else [],
        missing_count=missing_count,
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def period_bounds(
    since: date | None, until: date | None
) -> tuple[datetime | None, datetime | None]:
    """The period as instants: from the first day's start to the day after the last,
    in the viewer's zone (as ``periods.in_period``); None where it is open."""
    return (
        _day_start(since) if since is not None else None,
        _day_start(until + timedelta(days=1)) if until is not None else None,
    )


def _month_start(at: datetime, *, after: bool) -> date:
    """The UTC month that ``at`` falls in, or the next one if ``after`` and ``at`` is
    not that month's first instant."""
    month = month_of(at)
    if after and datetime.combine(month, time.min, tzinfo=UTC) < at:
        month = (month + timedelta(days=32)).replace(day=1)
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


def _one_by_one(
    incidents: IncidentQuerySet,
    start: datetime | None,
    end: datetime | None,
    first: date | None,
    last: date | None,
) -> IncidentQuerySet:
    """The incidents the stored figures do not serve: the restricted ones (the viewer's own
    filter chose which) in the period, and every one in the period's partly covered
    months. Each part is a range on ``PERIOD_AT`` (the ``incident_period`` index, and
    ``incident_restricted_period`` for the restricted), so PostgreSQL ORs two index
    scans instead of reading the period."""
    in_range = Q()
    if start is not None:
        in_range &= Q(period_at__gte=start)
    if end is not None:
        in_range &= Q(period_at__lt=end)
    edges = Q()
    if first is not None and last is not None and first >= last:
        edges = in_range  # no whole month: the period is read one by one
    else:
        if first is not None:
            edges |= in_range & Q(period_at__lt=_instant(first))
        if last is not None:
            edges |= in_range & Q(period_at__gte=_instant(last))
    wanted = (in_range & Q(restricted=True)) | edges if edges else in_range & Q(restricted=True)
    return (
        incidents.alias(period_at=PERIOD_AT)
        .filter(wanted)
        .annotate(month=MONTH, ttd_=TTD, ttr_=TTR)
    )


# What the page reads of each incident's stored figures and of each one read one by one.
STORED_VALUES = ("month", "severity", "service__name", "started", "ttd_us", "ttr_us")
ROW_VALUES = ("severity", "faulty_service__name", "month", "ttd_", "ttr_")


class _Figures:
    """Runs of microseconds gathered per group by their raw keys (severity, service
    name, month); names, sorting and summaries once per group at the end."""

    def __init__(self) -> None:
        self.count = 0
        self.groupings: tuple[dict[Any, list[list[int]]], ...] = ({}, {}, {})

    def add(
        self,
        severity: int,
        service: str,
        month: date | None,
        count: int,
        ttd: list[int],
        ttr: list[int],
    ) -> None:
        self.count += count
        for grouping, key in zip(self.groupings, (severity, service, month), strict=True):
            if key is None:
                continue
            group = grouping.get(key)
            if group is None:
                grouping[key] = group = [[], []]
            group[0] += ttd
            group[1] += ttr

    def add_stored(self, stored: Iterable[tuple[Any, ...]]) -> None:
        # Gathered by their keys first: one ``add`` a month, severity and service.
        cells: dict[tuple[Any, ...], list[Any]] = {}
        for month, severity, service, started, ttd, ttr in stored:
            cell = cells.get((month if started else None, severity, service))
            if cell is None:
                cell = cells[(month if started else None, severity, service)] = [0, [], []]
            cell[0] += 1
            if ttd is not None:
                cell[1].append(ttd)
            if ttr is not None:
                cell[2].append(ttr)
        for (month, severity, service), (count, ttds, ttrs) in cells.items():
            self.add(severity, service, month, count, ttds, ttrs)

    def add_row(
        self,
        severity: int,
        service: str,
        month: datetime | None,
        ttd: timedelta | None,
        ttr: timedelta | None,
    ) -> None:
        self.add(
            severity,
            service,
            month.date() if month is not None else None,
            1,
            [ttd // MICROSECOND] if ttd is not None else [],
            [ttr // MICROSECOND] if ttr is not None else [],
        )

    def metrics(self, *, missing: list[Row], missing_count: int) -> Metrics:
        by_severity, by_service, by_month = self.groupings
        for grouping in self.groupings:
            for values in grouping.values():
                values[0].sort()
                values[1].sort()
        # Every duration belongs to one severity: the whole is their sorted runs merged.
        ttd = sorted(chain.from_iterable(values[0] for values in by_severity.values()))
        ttr = sorted(chain.from_iterable(values[1] for values in by_severity.values()))

        def listed(grouping: dict[Any, list[list[int]]], name_of: Any) -> list[Group]:
            named = [(name_of(key), ttds, ttrs) for key, (ttds, ttrs) in grouping.items()]
            return [(name, summarize(ttds), summarize(ttrs)) for name, ttds, ttrs in sorted(named)]

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
        )
