"""TTD and TTR (HANDBOOK §10): their distributions by severity, service and month, the
incidents missing the times, and the charts, drawn here as SVG (no script, no library).

TTD is impact start → detection, TTR impact start → impact end. Medians are the usual
middle value (to the second); p90 is the nearest-rank 90th percentile (a real
incident's figure).

The durations are computed by the database from the three times, and only they (with
the grouping columns) are read: never a model instance. Counts and histograms are one
aggregate query on every database. On PostgreSQL the medians and p90s are ordered-set
aggregates too (``percentile_cont``/``percentile_disc``), one query per grouping; other
databases (SQLite has no percentiles) read one compact tuple per incident and finish in
Python. Both give the same figures (a test compares them on the database it runs on).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
)
from django.db.models.functions import TruncMonth
from django.db.models.lookups import LessThan
from django.utils import timezone
from django.utils.translation import gettext_noop

from incidents.models import CLOSED_STATUSES, IncidentQuerySet, Severity
from incidents.periods import MISSING_TIMES, in_period

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


def summarize(values: list[timedelta]) -> Summary:
    if not values:
        return Summary(count=0, median=None, p90=None)
    ordered = sorted(values)
    seconds = statistics.median(value.total_seconds() for value in ordered)
    # The same arithmetic as PostgreSQL's percentile_disc: the first value at or past 90%.
    rank = max(1, math.ceil(0.9 * len(ordered)))
    return Summary(
        count=len(ordered), median=_to_second(timedelta(seconds=seconds)), p90=ordered[rank - 1]
    )


def histogram(values: Iterable[timedelta]) -> list[tuple[str, int]]:
    counts = dict.fromkeys([label for _, label in BINS] + [OVER], 0)
    for value in values:
        for bound, label in BINS:
            if value < bound:
                counts[label] += 1
                break
        else:
            counts[OVER] += 1
    return list(counts.items())


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


class _Percentile(Aggregate):
    """PostgreSQL's ordered-set aggregates over a duration; NULLs are skipped."""

    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


class _Median(_Percentile):
    function = "PERCENTILE_CONT"


class _P90(_Percentile):
    function = "PERCENTILE_DISC"


DURATIONS = {"ttd": TTD, "ttr": TTR}
MONTH = TruncMonth("impact_started_at", tzinfo=UTC)


def _histogram_aggregates(name: str) -> dict[str, Count]:
    """Cumulative counts below each bound: one pass gives every bin."""
    return {
        f"{name}_below_{index}": Count("pk", filter=LessThan(DURATIONS[name], bound))
        for index, (bound, _) in enumerate(BINS)
    }


def _bins(totals: dict[str, Any], name: str) -> list[tuple[str, int]]:
    below = [totals[f"{name}_below_{index}"] for index in range(len(BINS))]
    counts = [below[0]] + [high - low for low, high in pairwise(below)]
    counts.append(totals[f"{name}_count"] - below[-1])
    return list(zip([label for _, label in BINS] + [OVER], counts, strict=True))


def _summary_aggregates() -> dict[str, Aggregate]:
    return {
        "ttd_count": Count(TTD),
        "ttd_median": _Median(TTD, 0.5),
        "ttd_p90": _P90(TTD, 0.9),
        "ttr_count": Count(TTR),
        "ttr_median": _Median(TTR, 0.5),
        "ttr_p90": _P90(TTR, 0.9),
    }


def _summaries(values: dict[str, Any]) -> tuple[Summary, Summary]:
    def one(name: str) -> Summary:
        median = values[f"{name}_median"]
        return Summary(
            count=values[f"{name}_count"],
            median=_to_second(median) if median is not None else None,
            p90=values[f"{name}_p90"],
        )

    return one("ttd"), one("ttr")


def _month(started: datetime | None) -> str | None:
    return started.strftime("%Y-%m") if started is not None else None


def _severity(value: int) -> str:
    return str(Severity(value).label)


def compute(incidents: IncidentQuerySet, *, in_database: bool | None = None) -> Metrics:
    """Every figure of the page in a constant number of queries (four or six)."""
    if in_database is None:
        in_database = connection.vendor == "postgresql"
    with transaction.atomic(using=incidents.db):
        if in_database:
            _without_jit(incidents.db)
        return _compute(incidents, in_database=in_database)


def _without_jit(using: str) -> None:
    """These aggregates read tens of thousands of rows in tens of milliseconds, but their
    cost estimates pass PostgreSQL's JIT threshold, and compiling them took longer than
    running them (measured: 90 ms → 52 ms for 90 days of 100,000 incidents). Only for
    this transaction."""
    with connections[using].cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")


def _compute(incidents: IncidentQuerySet, *, in_database: bool) -> Metrics:
    timed = incidents.order_by()
    aggregates: dict[str, Any] = {
        "count": Count("pk"),
        "missing": Count("pk", filter=MISSING_TIMES),
        "ttd_count": Count(TTD),
        "ttr_count": Count(TTR),
        **_histogram_aggregates("ttd"),
        **_histogram_aggregates("ttr"),
    }
    if in_database:
        aggregates.update(_summary_aggregates())
    totals = timed.aggregate(**aggregates)
    if in_database:
        ttd, ttr = _summaries(totals)
        by_severity, by_service, by_month = (
            _grouped_in_database(timed, "severity", _severity),
            _grouped_in_database(timed, "faulty_service__name", str),
            _grouped_in_database(
                timed.filter(impact_started_at__isnull=False).annotate(month=MONTH),
                "month",
                _month,
            ),
        )
    else:
        ttd, ttr, by_severity, by_service, by_month = _in_python(timed)
    missing = (
        incidents.filter(MISSING_TIMES).order_by("-number").values_list(*COLUMNS)[:MISSING_SHOWN]
    )
    return Metrics(
        count=totals["count"],
        ttd=ttd,
        ttr=ttr,
        ttd_histogram=_bins(totals, "ttd"),
        ttr_histogram=_bins(totals, "ttr"),
        by_severity=by_severity,
        by_service=by_service,
        by_month=by_month,
        missing=[_row(values_row) for values_row in missing] if totals["missing"] else [],
        missing_count=totals["missing"],
    )


def _grouped_in_database(timed: IncidentQuerySet, column: str, name_of: Any) -> list[Group]:
    groups = timed.values(column).annotate(**_summary_aggregates()).order_by()
    named = [(name_of(group[column]), *_summaries(group)) for group in groups]
    return sorted(named, key=lambda group: group[0])


def _in_python(
    timed: IncidentQuerySet,
) -> tuple[Summary, Summary, list[Group], list[Group], list[Group]]:
    """One compact tuple per incident (severity, service, month, TTD, TTR), then Python."""
    values = timed.annotate(month=MONTH, ttd_=TTD, ttr_=TTR).values_list(
        "severity", "faulty_service__name", "month", "ttd_", "ttr_"
    )
    ttds: list[timedelta] = []
    ttrs: list[timedelta] = []
    groups: list[dict[str, tuple[list[timedelta], list[timedelta]]]] = [
        defaultdict(lambda: ([], [])) for _ in range(3)
    ]
    for severity, service, month, ttd, ttr in values.iterator(chunk_size=5000):
        names = (_severity(severity), service, _month(month))
        for index, name in enumerate(names):
            if name is None:
                continue
            group = groups[index][name]
            if ttd is not None:
                group[0].append(ttd)
            if ttr is not None:
                group[1].append(ttr)
        if ttd is not None:
            ttds.append(ttd)
        if ttr is not None:
            ttrs.append(ttr)

    def listed(by_name: dict[str, tuple[list[timedelta], list[timedelta]]]) -> list[Group]:
        return [
            (name, summarize(ttd), summarize(ttr)) for name, (ttd, ttr) in sorted(by_name.items())
        ]

    return summarize(ttds), summarize(ttrs), listed(groups[0]), listed(groups[1]), listed(groups[2])
