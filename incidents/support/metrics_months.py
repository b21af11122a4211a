"""A period's months as the metrics page reads and keeps them (HANDBOOK §10, issue 15):
each month's stored figures gathered into cells (``month_cells``), kept per month
version in the cache and in the process, and merged as a tree of spans for a page
without filters (``spanned``). A key names one content: the database, the month's
version and the part of the month a period covers are in it, so nothing kept is stale.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from hashlib import sha256
from itertools import chain, groupby
from typing import Any, NamedTuple, cast

from django.core.cache import cache
from django.db import connection
from django.db.models import Q

from config.kept import Kept
from config.statements import Run, Statement, compile_query, compiled, fetch
from incidents.models import Incident
from incidents.periods import PERIOD_AT
from incidents.support import figures as stored
from incidents.support.figures import FiguresChange, IncidentFigures

# A computed page is kept until the figures change; this bounds what a forgotten
# period (yesterday's "last 90 days") holds in the cache.
CACHED_FOR = 24 * 3600
# A month the period covers partly, and the instants it covers from and up to.
Partial = tuple[date, datetime, datetime]
# The column the statements' months are compared with.
MONTH_FIELD = FiguresChange._meta.get_field("month")


def param(field: Any, value: Any) -> Any:
    """``value`` as the database adapter is given it for ``field`` (SQLite's times and
    dates are text): what a compiled statement's sentinel stands for."""
    return field.get_db_prep_value(value, connection)


def run(statement: Statement, *params: Any) -> Run:
    """``statement`` with its sentinels' places taken by ``params``, for ``fetch``."""
    return statement, statement.params_for(*params)


# A month's stored figures, gathered by what the page groups and filters them by:
# (impact started, severity, service id) -> [incidents, sorted TTDs, sorted TTRs].
# Durations are microseconds held as floats: exact up to 285 years, and Python sorts
# floats about twice as fast as integers past 2**30 (18 minutes), the usual TTR.
Cells = dict[tuple[bool, int, int], list[Any]]
# A group's sorted runs of TTDs and of TTRs, merged when the page is summed up.
Runs = tuple[list[list[float]], list[list[float]]]


# Sorted TTDs and TTRs.
Sorted = tuple[list[float], list[float]]


class Span(NamedTuple):
    """Months' figures as a page without filters adds them: merged per severity, per
    service (by id) and in all. Shared: never changed."""

    incidents: int
    by_severity: dict[int, Sorted]
    by_service: dict[int, Sorted]
    total: Sorted


class Month:
    """A month's stored figures as a process keeps them (``MONTHS``), under ``key`` (its
    key in the cache): the cells, which a page with filters picks from, and their
    ``span`` and ``started`` runs, which a page without filters adds. Shared: never
    changed."""

    def __init__(self, cells: Cells, key: str) -> None:
        self.cells = cells
        self.key = key
        self.services = {service_id for _started, _severity, service_id in cells}

    @functools.cached_property
    def span(self) -> Span:
        """The month as a span of its own: the leaves of the tree (``spanned``)."""
        by_severity: dict[int, Runs] = {}
        by_service: dict[int, Runs] = {}
        for (_started, severity, service_id), (_count, ttds, ttrs) in self.cells.items():
            for grouping, key in ((by_severity, severity), (by_service, service_id)):
                runs = grouping.setdefault(key, ([], []))
                runs[0].append(ttds)
                runs[1].append(ttrs)
        every = [cell[1] for cell in self.cells.values()], [cell[2] for cell in self.cells.values()]
        return Span(
            sum(cell[0] for cell in self.cells.values()),
            {key: _one_run(runs) for key, runs in by_severity.items()},
            {key: _one_run(runs) for key, runs in by_service.items()},
            _one_run(every),
        )

    @functools.cached_property
    def started(self) -> Sorted | None:
        """The figures of the incidents with an impact start (the month's own)."""
        runs = [cell for (started, *_), cell in self.cells.items() if started]
        if not runs:
            return None
        return _one_run(([cell[1] for cell in runs], [cell[2] for cell in runs]))


def _one_run(runs: Runs) -> Sorted:
    return merged(runs[0]), merged(runs[1])


# Spans of months a process merged lately, by their months' keys (a key names one
# content: the database, the month's version and the part of it are in it): a page
# without filters merges its months as a balanced tree of spans, so after a change it
# merges again only the spans holding the month the change touched, one per level of
# the tree (about twice the period's durations copied in all, where a heap merge of every
# month compares each duration once per level). The least recently used go first.
SPANS: Kept[Span] = Kept(limit=64)


def forget() -> None:
    """Drop the months and spans this process keeps (a process just started has none)."""
    MONTHS.clear()
    SPANS.clear()


def spanned(months: Sequence[Month]) -> Span:
    """The span of ``months`` (in order): each half's, merged (``SPANS``)."""
    if len(months) == 1:
        return months[0].span
    key = tuple(month.key for month in months)
    span = SPANS.get(key)
    if span is None:
        middle = len(months) // 2
        span = _joined(spanned(months[:middle]), spanned(months[middle:]))
        SPANS.put(key, span)
    return span


def _joined(first: Span, then: Span) -> Span:
    def groups(one: dict[int, Sorted], other: dict[int, Sorted]) -> dict[int, Sorted]:
        return {key: _both(one.get(key), other.get(key)) for key in one.keys() | other.keys()}

    return Span(
        first.incidents + then.incidents,
        groups(first.by_severity, then.by_severity),
        groups(first.by_service, then.by_service),
        _both(first.total, then.total),
    )


def _both(one: Sorted | None, other: Sorted | None) -> Sorted:
    """Two groups' sorted figures as one (either may be missing, not both)."""
    if one is None or other is None:
        return cast(Sorted, one or other)
    ttds, ttrs = one[0] + other[0], one[1] + other[1]
    # Two sorted runs: the sort merges them in one pass, in place.
    ttds.sort()
    ttrs.sort()
    return ttds, ttrs


def merged(runs: list[list[float]]) -> list[float]:
    """Sorted runs as one sorted list; a single run as it is (shared, never changed)."""
    return runs[0] if len(runs) == 1 else sorted(chain.from_iterable(runs))


# The months this process read lately, by their key in the cache (a month's version,
# and the part of it a period covers, are in it): a page computed after a change reads
# only the months the change touched, and unpickles none of the others (they were most
# of its time). About five years of months, or the last year's and its parts.
MONTHS: Kept[Month] = Kept(limit=64)
# In the months' cache keys: cells kept in an earlier shape are never read.
MONTH_FORMAT = 2


def month_cells(
    versions: Iterable[Sequence[Any]], parts: Sequence[Partial] = ()
) -> dict[date, Month]:
    """The stored figures of the months whose ``versions`` (their committed changes,
    ``figures.FiguresChange``) were read: whole, or the ``parts`` of months a period
    covers partly (the incidents of the month from one instant to another), gathered
    per month and kept in the cache under the month's version and in the process
    (``MONTHS``): after a change, only the months it touched are read again. Read after
    the versions: what is read is at least as new."""
    ranges = {month: (after, before) for month, after, before in parts}
    scope = sha256(stored.database().encode()).hexdigest()[:16]
    keys: dict[date, str] = {
        month: f"metrics:month:{MONTH_FORMAT}:{scope}:{month.isoformat()}:{n}"
        + _range_key(month, ranges)
        for month, n in versions
    }
    months = {month: kept for month, key in keys.items() if (kept := MONTHS.get(key)) is not None}
    found = cache.get_many([key for month, key in keys.items() if month not in months])
    read = _read_cells(
        [month for month, key in keys.items() if not (month in months or key in found)], ranges
    )
    if read:
        cache.set_many({keys[month]: cells for month, cells in read.items()}, timeout=CACHED_FOR)
    for month, key in keys.items():
        cells = found.get(key, read.get(month))
        if cells is not None:
            months[month] = Month(cells, key)
            MONTHS.put(key, months[month])
    return months


def _range_key(month: date, ranges: dict[date, tuple[datetime, datetime]]) -> str:
    # A part of a month is kept apart from the whole month and from its other parts.
    if month not in ranges:
        return ""
    return "".join(f":{at.astimezone(UTC).isoformat()}" for at in ranges[month])


def _read_cells(
    months: list[date], ranges: dict[date, tuple[datetime, datetime]]
) -> dict[date, Cells]:
    """The cells of ``months``: whole, or from one instant to the other for those in
    ``ranges`` (a range on the incidents' ``PERIOD_AT``, which the ``incident_period``
    index serves). One statement per number of each (``_cells_statement``)."""
    if not months:
        return {}
    whole = [month for month in months if month not in ranges]
    parts = [(month, *ranges[month]) for month in months if month in ranges]
    params = [param(MONTH_FIELD, month) for month in whole]
    for month, after, before in parts:
        params += [param(MONTH_FIELD, month), param(_AT_FIELD, after), param(_AT_FIELD, before)]
    cells: dict[date, Cells] = {month: {} for month in months}
    statement = _cells_statement(len(whole), len(parts))
    for (month, *key), cell in cells_of(fetch([run(statement, *params)])[0]):
        cells[month][tuple(key)] = cell
    return cells


# Compiled in place of the months and instants ``_read_cells`` reads: none any figures
# have. A page reads at most one part of each of two months.
_PART_SENTINELS = [
    (
        date(1700 + n, 1, 1),
        datetime(1700 + n, 1, 2, tzinfo=UTC),
        datetime(1700 + n, 1, 3, tzinfo=UTC),
    )
    for n in range(2)
]
_AT_FIELD = Incident._meta.get_field("created_at")


def _cells_statement(whole: int, parts: int) -> Statement:
    """The stored figures of ``whole`` whole months and ``parts`` months from one instant
    to another, as ``_cells_of`` takes them: by month and cell."""

    def compile_() -> Statement:
        months = [date(1800 + n, 1, 1) for n in range(whole)]
        wanted = [Q(month__in=months)] if whole else []
        sentinels: list[Any] = [param(MONTH_FIELD, month) for month in months]
        for month, after, before in _PART_SENTINELS[:parts]:
            part = Incident.objects.alias(period_at=PERIOD_AT)
            part = part.filter(period_at__gte=after, period_at__lt=before)
            wanted.append(Q(month=month, incident__in=part.values("pk")))
            sentinels += [
                param(MONTH_FIELD, month),
                param(_AT_FIELD, after),
                param(_AT_FIELD, before),
            ]
        stored = (
            IncidentFigures.objects.filter(functools.reduce(operator.or_, wanted))
            .order_by("month", "started", "severity", "service_id")
            .values_list("month", "started", "severity", "service_id", "ttd_us", "ttr_us")
        )
        # A month's rows are read once a version: none kept converted.
        return compile_query(
            stored, sentinels=sentinels, counts=[1] * len(sentinels), remember=False
        )

    return compiled(("metrics-cells", whole, parts), compile_)


def cells_of(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[tuple[Any, ...], list[Any]]]:
    """Rows of a cell's key and one incident's TTD and TTR in microseconds (or None),
    those of a cell next to each other, as each cell's key and ``[incidents, sorted
    TTDs, sorted TTRs]`` (``Cells``). The durations are made floats here, in the lists
    that hold them, not by a converter called per value."""
    for key, group in groupby(rows, key=_key_of):
        of_cell = list(group)
        ttds = sorted([float(row[-2]) for row in of_cell if row[-2] is not None])
        ttrs = sorted([float(row[-1]) for row in of_cell if row[-1] is not None])
        yield key, [len(of_cell), ttds, ttrs]


def _key_of(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(row[:-2])
