"""A period's months as the metrics page reads and keeps them (HANDBOOK §10, issue 15):
each month's stored figures gathered into cells (``month_cells``), kept per month
version in the cache and in the process, and merged as a tree of spans for a page
without filters (``spanned``). A key names one content: the database, the month's
version and the part of the month a period covers are in it, so nothing kept is stale.
After a change, a process patches the whole months it keeps, and the spans above them,
with the incidents the change log names (``_patched``) instead of reading them again.
"""

from __future__ import annotations

import functools
import itertools
import operator
from bisect import bisect_left
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


# One incident's part in a month: started, severity, service id, TTD and TTR (or None).
Part = tuple[bool, int, int, int | None, int | None]
# What a patch changed: the parts gone and the parts come, each an incident's.
Delta = tuple[list[Part], list[Part]]


class Rows(NamedTuple):
    """A month's stored figures incident by incident, in columns ordered by incident id:
    what a patch (``_patched``) takes an incident's old part from. Durations in
    microseconds as floats, NaN where missing (as ``gathered`` reads them)."""

    ids: npt.NDArray[np.int64]
    started: npt.NDArray[np.bool_]
    severity: npt.NDArray[np.int64]
    service: npt.NDArray[np.int64]
    ttds: npt.NDArray[np.float64]
    ttrs: npt.NDArray[np.float64]

    def part(self, index: int) -> Part:
        return (
            bool(self.started[index]),
            int(self.severity[index]),
            int(self.service[index]),
            _micros(self.ttds[index]),
            _micros(self.ttrs[index]),
        )


def _micros(value: float) -> int | None:
    return None if np.isnan(value) else int(value)


class Log(NamedTuple):
    """The change log rows of a month that its figures hold (``figures.FiguresChange``,
    read before them), and the changes they count."""

    seen: frozenset[int]
    changes: int


class Cells(NamedTuple):
    """Figures gathered by what the page groups and filters them by (``gathered``):
    each cell's key and incidents, and the cells' sorted TTDs and TTRs one cell after
    another in one array each, ``*_ends`` where each cell's end. A month is a handful
    of objects to pickle and keep, not two small arrays a cell (a month's 60 cells cost
    more to pickle than to read from the database). A whole month read from the stored
    figures also has its ``rows`` and ``log``: a later version is patched from them."""

    keys: list[Key]
    counts: list[int]
    ttds: Durations
    ttd_ends: list[int]
    ttrs: Durations
    ttr_ends: list[int]
    rows: Rows | None = None
    log: Log | None = None

    def items(self) -> Iterator[tuple[Key, tuple[int, Durations, Durations]]]:
        """Each cell's key, incidents, sorted TTDs and sorted TTRs (views)."""
        ttd_start = ttr_start = 0
        for key, count, ttd_end, ttr_end in zip(
            self.keys, self.counts, self.ttd_ends, self.ttr_ends, strict=True
        ):
            yield key, (count, self.ttds[ttd_start:ttd_end], self.ttrs[ttr_start:ttr_end])
            ttd_start, ttr_start = ttd_end, ttr_end


def gathered(rows: Sequence[Sequence[Any]]) -> Cells:
    """Rows of a cell's key and one incident's TTD and TTR in microseconds (or None), those
    of a cell next to each other, as ``Cells`` (a month's, which come in no order, are
    gathered by ``_month``). Column by column: a month is some 4,000 rows at the large
    size, where a loop over the rows took longer than reading them."""
    if not rows:
        return NO_CELLS
    width = len(rows[0])
    columns = [np.array(list(map(itemgetter(index), rows))) for index in range(width - 2)]
    # A missing duration is NaN as a float (exact for integers up to 2**53 microseconds,
    # 285 years).
    ttds, ttrs = (
        np.array(list(map(itemgetter(index), rows)), dtype=np.float64)
        for index in (width - 2, width - 1)
    )
    return _cells(columns, ttds, ttrs, ordered=True)


def _cells(
    columns: list[npt.NDArray[Any]],
    ttds: npt.NDArray[np.float64],
    ttrs: npt.NDArray[np.float64],
    *,
    ordered: bool,
) -> Cells:
    """The cells of the key's columns and the durations, sorted by cell here unless
    ``ordered`` (a month's sort by cell took the database three times as long as reading
    it)."""
    if not ordered:
        # The key's values are never None here (the stored figures' columns are NOT
        # NULL): numpy would not order None among them.
        order = np.lexsort(columns[::-1])
        columns, ttds, ttrs = [column[order] for column in columns], ttds[order], ttrs[order]
    count = len(ttds)
    if not count:
        return NO_CELLS
    # A cell starts where any of its key's values differs from the row before.
    starts = np.zeros(count, dtype=bool)
    starts[0] = True
    for column in columns:
        starts[1:] |= column[1:] != column[:-1]
    first = np.flatnonzero(starts)
    keys: list[Key] = list(zip(*(column[first].tolist() for column in columns), strict=True))
    counts = np.diff(first, append=count).tolist()
    cell_of_row = np.cumsum(starts) - 1
    return Cells(
        keys,
        counts,
        *_by_cell(cell_of_row, ttds, len(keys)),
        *_by_cell(cell_of_row, ttrs, len(keys)),
    )


def _month(rows: Rows, log: Log | None) -> Cells:
    """A month's cells from its ``rows``, which they keep with the ``log`` (a whole
    month's: one read in part is never patched)."""
    cells = _cells([rows.started, rows.severity, rows.service], rows.ttds, rows.ttrs, ordered=False)
    return cells._replace(rows=rows, log=log)


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
    service (by id) and in all, with each group's incidents (a group is there while it
    has one). Shared: never changed."""

    incidents: int
    by_severity: dict[int, Sorted]
    by_service: dict[int, Sorted]
    total: Sorted
    severity_incidents: dict[int, int]
    service_incidents: dict[int, int]


class Month:
    """A month's stored figures as a process keeps them (``MONTHS``), under ``key`` (its
    key in the cache; ``place``: the key without the version): the cells, which a page
    with filters picks from, and their ``span`` and ``started`` runs, which a page
    without filters adds. ``serial`` tells this object from any other, the spans merged
    from it (``Place``) by it: a month read under the same key may hold later changes.
    ``patched``: the serial of the month it was patched from and what the patch changed,
    which the spans holding it are patched with (``spanned``). Shared: never changed
    (but for a ``span`` replaced by an equal one, ``spanned``)."""

    def __init__(
        self, cells: Cells, key: str, place: str, patched: tuple[int, Delta] | None = None
    ) -> None:
        self.cells = cells
        self.key = key
        self.place = place
        self.serial = next(_SERIALS)
        self.patched = patched
        self.services = {service_id for _started, _severity, service_id in cells.keys}

    @functools.cached_property
    def span(self) -> Span:
        """The month as a span of its own: the leaves of the tree (``spanned``)."""
        keys = self.cells.keys
        severities = [severity for _started, severity, _service in keys]
        services = [service_id for _started, _severity, service_id in keys]
        return Span(
            sum(self.cells.counts),
            self._grouped(severities),
            self._grouped(services),
            (_sorted(self.cells.ttds), _sorted(self.cells.ttrs)),
            _counted(severities, self.cells.counts),
            _counted(services, self.cells.counts),
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


def _counted(group_of_cell: list[int], counts: list[int]) -> dict[int, int]:
    incidents: dict[int, int] = {}
    for group, count in zip(group_of_cell, counts, strict=True):
        incidents[group] = incidents.get(group, 0) + count
    return incidents


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


_SERIALS = itertools.count()


class Place(NamedTuple):
    """The span a process merged last at a place of a tree (a period's months, their
    versions left out): the months' serials, and the spans it was merged from."""

    serials: tuple[int, ...]
    first: Span | None
    then: Span | None
    span: Span


# Spans of months a process merged lately, by place (``Place``): a page without filters
# merges its months as a balanced tree of spans, so after a change only the spans
# holding the month it touched change, one per level of the tree: patched with the
# month's patch, else merged again; in those, only the groups whose figures changed (a
# change moves one incident: its severity's, its service's and the total) are patched
# or merged again, the others are taken as they were.
# The least recently used go first; a tree of n months holds 2n - 1 places (the months
# too): room for the trees of several periods of five years.
PLACES: Kept[Place] = Kept(limit=256)


def forget() -> None:
    """Drop the months and spans this process keeps (a process just started has none)."""
    MONTHS.clear()
    PLACES.clear()


def spanned(months: Sequence[Month]) -> Span:
    """The span of ``months`` (in order): each half's, merged (``PLACES``); or, where
    the months that changed since were patched (``month_cells``), the span before
    patched as they were."""
    serials = tuple(month.serial for month in months)
    place = tuple(month.place for month in months)
    before = PLACES.get(place)
    if before is not None and before.serials == serials:
        return before.span
    delta = _delta(months, before)
    patched = _patched_span(before.span, delta) if before is not None and delta else None
    if len(months) == 1:
        month = months[0]
        if patched is not None:
            month.__dict__["span"] = patched
        elif before is not None:
            # The month keeps the figures equal to before's as those objects: one copy.
            month.__dict__["span"] = _alike(month.span, before.span)
        PLACES.put(place, Place(serials, None, None, month.span))
        return month.span
    middle = len(months) // 2
    first, then = spanned(months[:middle]), spanned(months[middle:])
    span = patched or _joined(first, then, before)
    PLACES.put(place, Place(serials, first, then, span))
    return span


def _delta(months: Sequence[Month], before: Place | None) -> Delta | None:
    """What changed in ``months`` since ``before`` was merged, where every month that
    changed was patched from the one it was merged from; else None."""
    if before is None:
        return None
    gone: list[Part] = []
    came: list[Part] = []
    for month, was in zip(months, before.serials, strict=True):
        if month.serial == was:
            continue
        if month.patched is None or month.patched[0] != was:
            return None
        gone += month.patched[1][0]
        came += month.patched[1][1]
    return gone, came


def _patched_span(span: Span, delta: Delta) -> Span | None:
    """``span`` with the parts ``delta`` names gone and come: only the groups they are
    in are new arrays (one copy each, no sort), the others are the same objects. None
    if a part to go is not there (a span not made from what the patch was)."""
    gone, came = delta
    severities, services = dict(span.by_severity), dict(span.by_service)
    severity_incidents = dict(span.severity_incidents)
    service_incidents = dict(span.service_incidents)
    grouped_by: tuple[tuple[dict[int, Sorted], dict[int, int], Callable[[Part], int]], ...] = (
        (severities, severity_incidents, itemgetter(1)),
        (services, service_incidents, itemgetter(2)),
    )
    for group, incidents, key_of in grouped_by:
        for key in {key_of(part) for part in gone + came}:
            out = [part for part in gone if key_of(part) == key]
            into = [part for part in came if key_of(part) == key]
            left = incidents.get(key, 0) - len(out) + len(into)
            figures = _moved(group.get(key, (NONE, NONE)), out, into)
            if left < 0 or figures is None:
                return None
            if left:
                group[key], incidents[key] = figures, left
            else:
                group.pop(key, None)
                incidents.pop(key, None)
    moved = _moved(span.total, gone, came)
    if moved is None:
        return None
    return Span(
        span.incidents - len(gone) + len(came),
        severities,
        services,
        moved,
        severity_incidents,
        service_incidents,
    )


def _moved(figures: Sorted, gone: list[Part], came: list[Part]) -> Sorted | None:
    """Sorted TTDs and TTRs with those of the ``gone`` parts taken out and those of the
    ``came`` parts put in; None if one to take out is not there."""
    ttds = _replaced(figures[0], _present(gone, 3), _present(came, 3))
    ttrs = _replaced(figures[1], _present(gone, 4), _present(came, 4))
    return None if ttds is None or ttrs is None else (ttds, ttrs)


def _present(parts: list[Part], index: int) -> list[int]:
    return [part[index] for part in parts if part[index] is not None]  # type: ignore[misc]


def _replaced(ordered: Durations, out: list[int], into: list[int]) -> Durations | None:
    """Sorted ``ordered`` with one of each of ``out`` taken out and ``into`` put in, in
    one copy and no sort; None if one to take out is not there."""
    if not out and not into:
        return ordered
    out, into = sorted(out), sorted(into)
    # Equal values to take out: the first of them, the next, and so on.
    at = ordered.searchsorted(out).tolist()
    for n in range(1, len(at)):
        if out[n] == out[n - 1]:
            at[n] = at[n - 1] + 1
    if any(i >= len(ordered) or ordered.item(i) != value for i, value in zip(at, out, strict=True)):
        return None
    # Cuts in the old order: a value put in before a place, or the value there left out.
    places = ordered.searchsorted(into).tolist()
    cuts = sorted(
        [(place, 0, value) for place, value in zip(places, into, strict=True)]
        + [(place, 1, 0) for place in at]
    )
    pieces = []
    start = 0
    for place, skip, value in cuts:
        pieces.append(ordered[start:place])
        if skip:
            start = place + 1
        else:
            pieces.append(np.array([value], dtype=np.int64))
            start = place
    pieces.append(ordered[start:])
    return _shared(np.concatenate(pieces))


def _moved_cells(cells: Cells, gone: list[Part], came: list[Part]) -> Cells | None:
    """``cells`` with the ``gone`` parts taken out and the ``came`` parts put in: the
    cells ``_cells`` would gather, copying only the durations of the cells touched
    (their keys in order, one without incidents left out); None if a part to take out is
    not there."""
    keys, counts = list(cells.keys), list(cells.counts)
    durations = [cells.ttds, cells.ttrs]
    ends = [list(cells.ttd_ends), list(cells.ttr_ends)]
    touched: dict[Key, tuple[list[Part], list[Part]]] = {}
    for side, parts in enumerate((gone, came)):
        for part in parts:
            touched.setdefault(part[:3], ([], []))[side].append(part)
    for key, (out, into) in sorted(touched.items()):
        cell = bisect_left(keys, key)
        if cell == len(keys) or keys[cell] != key:
            if out:
                return None
            keys.insert(cell, key)
            counts.insert(cell, 0)
            for of_kind in ends:
                of_kind.insert(cell, of_kind[cell - 1] if cell else 0)
        counts[cell] += len(into) - len(out)
        bounds = [(of_kind[cell - 1] if cell else 0, of_kind[cell]) for of_kind in ends]
        segments = _moved(
            (durations[0][slice(*bounds[0])], durations[1][slice(*bounds[1])]), out, into
        )
        if counts[cell] < 0 or segments is None:
            return None
        for kind, ((start, end), segment) in enumerate(zip(bounds, segments, strict=True)):
            durations[kind] = np.concatenate(
                [durations[kind][:start], segment, durations[kind][end:]]
            )
            grown = len(segment) - (end - start)
            ends[kind][cell:] = [at + grown for at in ends[kind][cell:]]
        if not counts[cell]:
            del keys[cell], counts[cell], ends[0][cell], ends[1][cell]
    return Cells(
        keys,
        counts,
        _shared(durations[0]),
        ends[0],
        _shared(durations[1]),
        ends[1],
        cells.rows,
        cells.log,
    )


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
        span.severity_incidents,
        span.service_incidents,
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

    def added(one: dict[int, int], other: dict[int, int]) -> dict[int, int]:
        return {key: one.get(key, 0) + other.get(key, 0) for key in one.keys() | other.keys()}

    return Span(
        first.incidents + then.incidents,
        groups(attrgetter("by_severity")),
        groups(attrgetter("by_service")),
        groups(lambda span: {None: span.total})[None],
        added(first.severity_incidents, then.severity_incidents),
        added(first.service_incidents, then.service_incidents),
    )


def _both(one: Sorted | None, other: Sorted | None) -> Sorted:
    """Two groups' sorted figures as one (either may be missing, not both)."""
    if one is None or other is None:
        return cast(Sorted, one or other)
    return merged([one[0], other[0]]), merged([one[1], other[1]])


# The months this process read lately, by their place (the key without the version: the
# database, the month and the part of it a period covers), each under its key: a page
# computed after a change reads only the months the change touched, and unpickles none
# of the others (they were most of its time); a month it kept at an earlier version it
# patches (``_patched``). About five years of months, or the last year's and its parts.
MONTHS: Kept[Month] = Kept(limit=64)
# In the months' cache keys: cells kept in an earlier shape are never read.
MONTH_FORMAT = 4  # 3: durations as arrays; 4: with their rows and log
# A patch of more incidents than this reads the month again: a rebuild's worth of
# changes is cheaper read whole.
PATCHED_AT_MOST = 100


def month_cells(
    versions: Iterable[Sequence[Any]], parts: Sequence[Partial] = ()
) -> dict[date, Month]:
    """The stored figures of the months whose ``versions`` (their committed changes,
    ``figures.FiguresChange``) were read: whole, or the ``parts`` of months a period
    covers partly (the incidents of the month from one instant to another), gathered
    per month and kept in the cache under the month's version and in the process
    (``MONTHS``): after a change, only the months it touched are read again. A whole
    month this process kept at an earlier version is patched instead, with the incidents
    the change log names since (``_patched``), and not written to the cache: the patch
    costs less than the write, and the other processes patch theirs. Read after the
    versions: what is read is at least as new."""
    ranges = {month: (after, before) for month, after, before in parts}
    scope = sha256(stored.database().encode()).hexdigest()[:16]
    # A month's place: the database, the month and the part of it; its key: the place
    # at one version.
    places: dict[date, str] = {}
    keys: dict[date, str] = {}
    for month, n in versions:
        places[month] = f"{scope}:{month.isoformat()}{_range_key(month, ranges)}"
        keys[month] = f"metrics:month:{MONTH_FORMAT}:{places[month]}:{n}"
    months: dict[date, Month] = {}
    earlier: dict[date, Month] = {}
    for month, place in places.items():
        kept = MONTHS.get(place)
        if kept is not None and kept.key == keys[month]:
            months[month] = kept
        elif kept is not None and kept.cells.log is not None:
            earlier[month] = kept
    patched = _patched(earlier, keys)
    for month, kept in patched.items():
        months[month] = kept
        MONTHS.put(places[month], kept)
    missing = [month for month in keys if month not in months]
    found = cache.get_many([keys[month] for month in missing]) if missing else {}
    read = _read_cells([month for month in missing if keys[month] not in found], ranges)
    if read:
        cache.set_many({keys[month]: cells for month, cells in read.items()}, timeout=CACHED_FOR)
    for month, key in keys.items():
        cells = found.get(key, read.get(month))
        if month not in months and cells is not None:
            months[month] = Month(cells, key, places[month])
            MONTHS.put(places[month], months[month])
    return months


def _patched(earlier: dict[date, Month], keys: dict[date, str]) -> dict[date, Month]:
    """The months kept ``earlier`` patched to their ``keys``' versions, where the change
    log says which incidents changed since: a row for each change not yet seen, naming
    its incident, none merged with another (``figures.fold``). Those incidents' parts
    become their figures as they are now (read with the log, in one statement), so a
    change already in the month is harmless to apply again. Any other month is left
    out: read again."""
    if not earlier:
        return {}
    logged = fetch([run(_log_statement(len(earlier)), *[param(MONTH_FIELD, m) for m in earlier])])
    rows = {month: list(of_month) for month, of_month in groupby(logged[0], key=itemgetter(0))}
    patched = {}
    for month, kept in earlier.items():
        of_month = rows.get(month, [])
        log = cast(Log, kept.cells.log)
        new = [row for row in of_month if row[1] not in log.seen]
        now = _log(of_month)
        if (
            len(new) > PATCHED_AT_MOST
            or now.changes - log.changes != len(new)
            or any(row[2] != 1 or row[3] is None for row in new)
        ):
            continue
        cells, delta = _patch(kept.cells, month, new, now)
        patched[month] = Month(cells, keys[month], kept.place, (kept.serial, delta))
    return patched


def _patch(cells: Cells, month: date, new: list[Sequence[Any]], log: Log) -> tuple[Cells, Delta]:
    """The month's ``cells`` with the parts of the incidents the ``new`` log rows name
    replaced by their figures as read with them (none where those are in another month,
    or gone), holding ``log``, and what changed."""
    rows = cast(Rows, cells.rows)
    now: dict[int, Part | None] = {
        row[3]: _part(row[5:]) if row[4] == month else None for row in new
    }
    gone: list[Part] = []
    came: list[Part] = []
    dropped: list[int] = []
    added: list[tuple[int, Part]] = []
    for incident, part in sorted(now.items()):
        index = int(rows.ids.searchsorted(incident))
        here = index < len(rows.ids) and rows.ids.item(index) == incident
        was = rows.part(index) if here else None
        if was == part:
            continue
        if was is not None:
            gone.append(was)
            dropped.append(index)
        if part is not None:
            came.append(part)
            added.append((incident, part))
    if not gone and not came:
        return cells._replace(log=log), (gone, came)
    rows = _swapped(rows, dropped, added)
    moved = _moved_cells(cells, gone, came)
    # A month whose cells are not its rows' would be a fault: its rows are the truth.
    patched = _month(rows, log) if moved is None else moved._replace(rows=rows, log=log)
    return patched, (gone, came)


def _part(values: Sequence[Any]) -> Part:
    started, severity, service_id, ttd, ttr = values
    return bool(started), int(severity), int(service_id), ttd, ttr


def _swapped(rows: Rows, dropped: list[int], added: list[tuple[int, Part]]) -> Rows:
    """``rows`` without those at the ``dropped`` places, with those ``added``."""
    kept = np.ones(len(rows.ids), dtype=bool)
    kept[dropped] = False
    extra = _rows([(incident, *part) for incident, part in added])
    columns = [np.concatenate([old[kept], new]) for old, new in zip(rows, extra, strict=True)]
    order = np.argsort(columns[0])
    return Rows(*(column[order] for column in columns))


def _rows(rows: Sequence[Sequence[Any]], *, skip: int = 0) -> Rows:
    """Rows of an incident's id and its part (after ``skip`` values) as ``Rows``, ordered
    by id in numpy (sorted as tuples in Python, they cost a cold all-time page at the
    large size about 9 ms of its 178)."""
    dtypes = (np.int64, np.bool_, np.int64, np.int64, np.float64, np.float64)
    columns: list[npt.NDArray[Any]] = [
        np.array(list(map(itemgetter(skip + index), rows)), dtype=dtype)
        for index, dtype in enumerate(dtypes)
    ]
    order = np.argsort(columns[0])
    return Rows(*(column[order] for column in columns))


def _range_key(month: date, ranges: dict[date, tuple[datetime, datetime]]) -> str:
    # A part of a month is kept apart from the whole month and from its other parts.
    if month not in ranges:
        return ""
    return "".join(f":{at.astimezone(UTC).isoformat()}" for at in ranges[month])


def _read_cells(
    months: list[date], ranges: dict[date, tuple[datetime, datetime]]
) -> dict[date, Cells]:
    """The cells of ``months``: whole, with the change log rows they hold (read first),
    or from one instant to the other for those in ``ranges`` (a range on the incidents'
    ``PERIOD_AT``, which the ``incident_period`` index serves). One statement per number
    of each (``_cells_statement``)."""
    if not months:
        return {}
    whole = [month for month in months if month not in ranges]
    parts = [(month, *ranges[month]) for month in months if month in ranges]
    params = [param(MONTH_FIELD, month) for month in whole]
    for month, after, before in parts:
        params += [param(MONTH_FIELD, month), param(_AT_FIELD, after), param(_AT_FIELD, before)]
    runs = [run(_cells_statement(len(whole), len(parts)), *params)]
    if whole:
        runs.insert(0, run(_log_statement(len(whole)), *params[: len(whole)]))
    *logged, stored_rows = fetch(runs)
    logs = {month: _log([]) for month in whole}
    for month, of_month in groupby(logged[0] if logged else [], key=itemgetter(0)):
        logs[month] = _log(list(of_month))
    read = {
        month: _rows(list(of_month), skip=1)
        for month, of_month in groupby(stored_rows, key=itemgetter(0))
    }
    return {month: _month(read.get(month, _rows([])), logs.get(month)) for month in months}


def _log(rows: list[Sequence[Any]]) -> Log:
    """A month's change log rows (``_log_statement``'s) as the ``Log`` of its figures."""
    return Log(frozenset(row[1] for row in rows), sum(row[2] for row in rows))


def _log_statement(months: int) -> Statement:
    """The change log rows of ``months`` months, each with the figures of the incident
    it names as they are (``_patched``)."""

    def compile_() -> Statement:
        wanted = [date(1800 + n, 1, 1) for n in range(months)]
        log = (
            FiguresChange.objects.filter(month__in=wanted)
            .order_by("month")
            .values_list(
                "month",
                "pk",
                "changes",
                "figures_id",
                "figures__month",
                "figures__started",
                "figures__severity",
                "figures__service_id",
                "figures__ttd_us",
                "figures__ttr_us",
            )
        )
        sentinels = [param(MONTH_FIELD, month) for month in wanted]
        return compile_query(log, sentinels=sentinels, counts=[1] * months, remember=False)

    return compiled(("metrics-log", months), compile_)


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
    to another, by month (``_rows`` orders a month's rows, ``_cells`` its cells)."""

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
            .values_list(
                "month", "incident_id", "started", "severity", "service_id", "ttd_us", "ttr_us"
            )
        )
        # A month's rows are read once a version: none kept converted.
        return compile_query(
            stored, sentinels=sentinels, counts=[1] * len(sentinels), remember=False
        )

    return compiled(("metrics-cells", whole, parts), compile_)
