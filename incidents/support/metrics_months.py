"""A period's months as the metrics page reads and keeps them (HANDBOOK §10, issue 15):
each month's stored figures gathered into cells (``month_cells``), kept per month
version in the cache and in the process, and merged as a tree of spans for a page
without filters (``spanned``). A key names one content: the database, the month's
version and the part of the month a period covers are in it, so nothing kept is stale.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from hashlib import sha256
from itertools import groupby, pairwise
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt
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


# Sorted durations, in microseconds: a numpy array. A page merges its months' durations
# (a hundred thousand at the default size): merging two sorted arrays is one pass in C
# (a stable sort finds the runs), about six times faster than merging lists of floats,
# and an array holds no Python objects, which the collector traversed in every list at
# every collection while it lived (about a millisecond a collection, one or two a page).
# Shared: never changed (written once, then made read-only).
Durations = npt.NDArray[np.int64]
# Sorted TTDs and TTRs.
Sorted = tuple[Durations, Durations]
# A group's sorted runs of TTDs and of TTRs, merged when the page is summed up.
Runs = tuple[list[Durations], list[Durations]]
# A cell's key: (impact started, severity, service id) for a month's stored figures.
Key = tuple[Any, ...]


class Cells(NamedTuple):
    """Figures gathered by what the page groups and filters them by (``gathered``):
    each cell's key and incidents, and the cells' sorted TTDs and TTRs one cell after
    another in one array each, ``*_ends`` where each cell's end. A month is a handful
    of objects to pickle and keep, not two small arrays a cell (a month's 60 cells cost
    more to pickle than to read from the database)."""

    keys: list[Key]
    counts: list[int]
    ttds: Durations
    ttd_ends: list[int]
    ttrs: Durations
    ttr_ends: list[int]

    def items(self) -> Iterator[tuple[Key, tuple[int, Durations, Durations]]]:
        """Each cell's key, incidents, sorted TTDs and sorted TTRs (views)."""
        ttd_start = ttr_start = 0
        for key, count, ttd_end, ttr_end in zip(
            self.keys, self.counts, self.ttd_ends, self.ttr_ends, strict=True
        ):
            yield key, (count, self.ttds[ttd_start:ttd_end], self.ttrs[ttr_start:ttr_end])
            ttd_start, ttr_start = ttd_end, ttr_end


def gathered(rows: Sequence[Sequence[Any]], *, skip: int = 0, ordered: bool = True) -> Cells:
    """Rows of a cell's key (after ``skip`` values) and one incident's TTD and TTR in
    microseconds (or None) as ``Cells``: those of a cell next to each other, unless not
    ``ordered`` (sorted here then: a month's sort by cell took the database three times
    as long as reading it). Column by column: a month is some 4,000 rows at the large
    size, where a loop over the rows took longer than reading them."""
    if not rows:
        return NO_CELLS
    width = len(rows[0])
    columns = [np.array(list(map(itemgetter(index), rows))) for index in range(skip, width - 2)]
    # A missing duration is NaN as a float (exact for integers up to 2**53 microseconds,
    # 285 years).
    ttds, ttrs = (
        np.array(list(map(itemgetter(index), rows)), dtype=np.float64)
        for index in (width - 2, width - 1)
    )
    if not ordered:
        # The key's values are never None here (the stored figures' columns are NOT
        # NULL): numpy would not order None among them.
        order = np.lexsort(columns[::-1])
        columns, ttds, ttrs = [column[order] for column in columns], ttds[order], ttrs[order]
    # A cell starts where any of its key's values differs from the row before.
    starts = np.zeros(len(rows), dtype=bool)
    starts[0] = True
    for column in columns:
        starts[1:] |= column[1:] != column[:-1]
    first = np.flatnonzero(starts)
    keys: list[Key] = list(zip(*(column[first].tolist() for column in columns), strict=True))
    counts = np.diff(first, append=len(rows)).tolist()
    cell_of_row = np.cumsum(starts) - 1
    return Cells(
        keys,
        counts,
        *_by_cell(cell_of_row, ttds, len(keys)),
        *_by_cell(cell_of_row, ttrs, len(keys)),
    )


def _by_cell(
    cell_of_row: npt.NDArray[np.int64], values: npt.NDArray[np.float64], cells: int
) -> tuple[Durations, list[int]]:
    # Those present (not NaN) sorted by cell (as they come), then within each cell.
    present = ~np.isnan(values)
    durations, of_cell = values[present].astype(np.int64), cell_of_row[present]
    ends = np.bincount(of_cell, minlength=cells).cumsum().tolist()
    return _shared(durations[np.lexsort((durations, of_cell))]), ends


def _shared(durations: Durations) -> Durations:
    durations.flags.writeable = False
    return durations


NONE = _shared(np.empty(0, dtype=np.int64))


# A month without figures.
NO_CELLS = Cells([], [], NONE, [], NONE, [])


def merged(runs: list[Durations]) -> Durations:
    """Sorted runs as one sorted array; a single run as it is."""
    if len(runs) == 1:
        return runs[0]
    if not runs:
        return NONE
    every = np.concatenate(runs)
    every.sort(kind="stable")  # timsort: merges the runs it finds
    return _shared(every)


class Span(NamedTuple):
    """Months' figures as a page without filters adds them: merged per severity, per
    service (by id) and in all. Shared: never changed."""

    incidents: int
    by_severity: dict[int, Sorted]
    by_service: dict[int, Sorted]
    total: Sorted


class Month:
    """A month's stored figures as a process keeps them (``MONTHS``), under ``key`` (its
    key in the cache; ``place``: the key without the version): the cells, which a page
    with filters picks from, and their ``span`` and ``started`` runs, which a page
    without filters adds. Shared: never changed (but for a ``span`` replaced by an equal
    one, ``spanned``)."""

    def __init__(self, cells: Cells, key: str, place: str) -> None:
        self.cells = cells
        self.key = key
        self.place = place
        self.services = {service_id for _started, _severity, service_id in cells.keys}

    @functools.cached_property
    def span(self) -> Span:
        """The month as a span of its own: the leaves of the tree (``spanned``)."""
        keys = self.cells.keys
        return Span(
            sum(self.cells.counts),
            self._grouped([severity for _started, severity, _service in keys]),
            self._grouped([service_id for _started, _severity, service_id in keys]),
            (_sorted(self.cells.ttds), _sorted(self.cells.ttrs)),
        )

    def _grouped(self, group_of_cell: list[int]) -> dict[int, Sorted]:
        ttds = _by_group(self.cells.ttds, self.cells.ttd_ends, group_of_cell)
        ttrs = _by_group(self.cells.ttrs, self.cells.ttr_ends, group_of_cell)
        return {group: (ttds[group], ttrs[group]) for group in ttds}

    @functools.cached_property
    def started(self) -> Sorted | None:
        """The figures of the incidents with an impact start (the month's own)."""
        started = [1 if started else 0 for started, _severity, _service in self.cells.keys]
        if not any(started):
            return None
        ttds = _by_group(self.cells.ttds, self.cells.ttd_ends, started)
        ttrs = _by_group(self.cells.ttrs, self.cells.ttr_ends, started)
        return ttds[1], ttrs[1]


def _sorted(durations: Durations) -> Durations:
    every = durations.copy()
    every.sort(kind="stable")  # sorted cell by cell: runs to merge
    return _shared(every)


def _by_group(
    durations: Durations, ends: list[int], group_of_cell: list[int]
) -> dict[int, Durations]:
    """Cells' sorted durations (one after another, ``ends``) per group of cells, each
    group's sorted: one sort for all of them, by group and then by duration."""
    per_cell = [end - start for start, end in pairwise([0, *ends])]
    groups = np.repeat(np.array(group_of_cell, dtype=np.int64), per_cell)
    order = np.lexsort((durations, groups))
    grouped, in_order = groups[order], _shared(durations[order])
    wanted = sorted(set(group_of_cell))
    bounds = grouped.searchsorted(wanted, side="right").tolist()
    starts = [0, *bounds][:-1]
    return {group: in_order[a:b] for group, a, b in zip(wanted, starts, bounds, strict=True)}


class Place(NamedTuple):
    """The span a process merged last at a place of a tree (a period's months, their
    versions left out): the months' keys, and the spans it was merged from."""

    keys: tuple[str, ...]
    first: Span | None
    then: Span | None
    span: Span


# Spans of months a process merged lately, by place (``Place``): a page without filters
# merges its months as a balanced tree of spans, so after a change only the spans
# holding the month it touched are merged again, one per level of the tree; in those,
# only the groups whose figures changed (a change moves one incident: its severity's,
# its service's and the total) are merged again, the others are taken as they were.
# The least recently used go first; a tree of n months holds 2n - 1 places (the months
# too): room for the trees of several periods of five years.
PLACES: Kept[Place] = Kept(limit=256)


def forget() -> None:
    """Drop the months and spans this process keeps (a process just started has none)."""
    MONTHS.clear()
    PLACES.clear()


def spanned(months: Sequence[Month]) -> Span:
    """The span of ``months`` (in order): each half's, merged (``PLACES``)."""
    keys = tuple(month.key for month in months)
    place = tuple(month.place for month in months)
    before = PLACES.get(place)
    if before is not None and before.keys == keys:
        return before.span
    if len(months) == 1:
        month = months[0]
        if before is not None:
            # The month keeps the figures equal to before's as those objects: one copy.
            month.__dict__["span"] = _alike(month.span, before.span)
        PLACES.put(place, Place(keys, None, None, month.span))
        return month.span
    middle = len(months) // 2
    first, then = spanned(months[:middle]), spanned(months[middle:])
    span = _joined(first, then, before)
    PLACES.put(place, Place(keys, first, then, span))
    return span


def _alike(span: Span, before: Span) -> Span:
    """``span`` with the figures equal to ``before``'s taken from it: the same objects,
    which the spans above it are merged from (``_joined`` takes such a group as it
    was)."""

    def groups(now: dict[int, Sorted], was: dict[int, Sorted]) -> dict[int, Sorted]:
        return {key: _same(figures, was.get(key)) for key, figures in now.items()}

    return Span(
        span.incidents,
        groups(span.by_severity, before.by_severity),
        groups(span.by_service, before.by_service),
        _same(span.total, before.total),
    )


def _same(figures: Sorted, before: Sorted | None) -> Sorted:
    if before is not None and all(map(np.array_equal, figures, before)):
        return before
    return figures


def _joined(first: Span, then: Span, before: Place | None = None) -> Span:
    """Two spans as one; a group whose figures in both are those ``before`` was merged
    from (the same objects) is taken from it."""
    merged_from = (
        (before.first, before.then, before.span)
        if before is not None and before.first is not None and before.then is not None
        else None
    )

    def groups(pick: Callable[[Span], dict[Any, Sorted]]) -> dict[Any, Sorted]:
        one, other = pick(first), pick(then)
        was_one, was_other, was = map(pick, merged_from) if merged_from else ({}, {}, {})
        joined = {}
        for key in one.keys() | other.keys():
            as_before = (
                key in was
                and one.get(key) is was_one.get(key)
                and other.get(key) is was_other.get(key)
            )
            joined[key] = was[key] if as_before else _both(one.get(key), other.get(key))
        return joined

    return Span(
        first.incidents + then.incidents,
        groups(attrgetter("by_severity")),
        groups(attrgetter("by_service")),
        groups(lambda span: {None: span.total})[None],
    )


def _both(one: Sorted | None, other: Sorted | None) -> Sorted:
    """Two groups' sorted figures as one (either may be missing, not both)."""
    if one is None or other is None:
        return cast(Sorted, one or other)
    return merged([one[0], other[0]]), merged([one[1], other[1]])


# The months this process read lately, by their key in the cache (a month's version,
# and the part of it a period covers, are in it): a page computed after a change reads
# only the months the change touched, and unpickles none of the others (they were most
# of its time). About five years of months, or the last year's and its parts.
MONTHS: Kept[Month] = Kept(limit=64)
# In the months' cache keys: cells kept in an earlier shape are never read.
MONTH_FORMAT = 3  # 3: durations as arrays


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
    # A month's place: the database, the month and the part of it; its key: the place
    # at one version.
    places: dict[date, str] = {}
    keys: dict[date, str] = {}
    for month, n in versions:
        places[month] = f"{scope}:{month.isoformat()}{_range_key(month, ranges)}"
        keys[month] = f"metrics:month:{MONTH_FORMAT}:{places[month]}:{n}"
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
            months[month] = Month(cells, key, places[month])
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
    statement = _cells_statement(len(whole), len(parts))
    rows = fetch([run(statement, *params)])[0]
    cells = {
        month: gathered(list(of_month), skip=1, ordered=False)
        for month, of_month in groupby(rows, key=itemgetter(0))
    }
    return {month: cells.get(month, NO_CELLS) for month in months}


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
    to another, by month (``gathered`` sorts a month's rows by cell)."""

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
            .order_by("month")  # by cell: ``gathered``
            .values_list("month", "started", "severity", "service_id", "ttd_us", "ttr_us")
        )
        # A month's rows are read once a version: none kept converted.
        return compile_query(
            stored, sentinels=sentinels, counts=[1] * len(sentinels), remember=False
        )

    return compiled(("metrics-cells", whole, parts), compile_)
