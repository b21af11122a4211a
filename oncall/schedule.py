"""Who is on call when: the rotation arithmetic, in the rotation's own time zone.

A roster's rotation is a list of versions (``Rotation``), each in force from its
``effective_from`` until the next one's: the answer for instant t uses the version in
force at t, so a change (which adds a version from now or later) never alters the past.

Within a version, shifts are counted in local wall-clock time from its first hand-off,
so a hand-off at 09:00 in Europe/Paris stays at 09:00 on both sides of a daylight-saving
change (that shift is then an hour shorter or longer in real time). The version's first
shift runs from ``effective_from`` to the hand-off after it. Overrides win over turns.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User

from .models import Override, Roster, Rotation, ShiftUnit


@dataclass(frozen=True)
class Slot:
    """Someone (or no one) on call from ``starts_at`` to ``ends_at``, both UTC."""

    user: User | None
    starts_at: datetime
    ends_at: datetime
    override: bool = False


def shift_length(rotation: Rotation | Roster) -> timedelta:
    unit = {ShiftUnit.HOURS: "hours", ShiftUnit.DAYS: "days", ShiftUnit.WEEKS: "weeks"}
    return timedelta(**{unit[ShiftUnit(rotation.shift_unit)]: rotation.shift_length})


def first_handoff_local(rotation: Rotation) -> datetime:
    """The version's first hand-off as a naive local wall-clock time."""
    return datetime.combine(rotation.start_date, rotation.handoff_time)


def to_utc(time_zone: str, local: datetime) -> datetime:
    # fold=0: a wall-clock time that happens twice (autumn) means its first occurrence;
    # one that never happens (spring) maps to the instant the clock jumped to.
    aware = local.replace(tzinfo=ZoneInfo(time_zone), fold=0)
    return aware.astimezone(UTC)


def local(time_zone: str, at: datetime) -> datetime:
    return at.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)


def shift_index(rotation: Rotation, at: datetime) -> int:
    """Which shift of the version ``at`` (not before ``effective_from``) falls in, from 0."""
    index = (local(rotation.time_zone, at) - first_handoff_local(rotation)) // shift_length(
        rotation
    )
    return max(index, 0)


def shift_bounds(rotation: Rotation, index: int) -> tuple[datetime, datetime]:
    """Shift ``index`` of the version, ignoring when the next version takes over."""
    step = shift_length(rotation)
    start = first_handoff_local(rotation) + index * step
    begins = rotation.effective_from if index == 0 else to_utc(rotation.time_zone, start)
    return begins, to_utc(rotation.time_zone, start + step)


def rotations(roster: Roster) -> list[Rotation]:
    """The roster's versions, oldest first, as loaded (prefetch ``rotations__members``)."""
    return sorted(roster.rotations.all(), key=lambda rotation: rotation.effective_from)


def members(rotation: Rotation) -> list[User]:
    return [place.user for place in sorted(rotation.members.all(), key=lambda p: p.position)]


def in_force(versions: Sequence[Rotation], at: datetime) -> Rotation | None:
    """The version in force at ``at``: the last one effective by then."""
    current = None
    for rotation in versions:
        if rotation.effective_from > at:
            break
        current = rotation
    return current


def _turn(rotation: Rotation | None, at: datetime) -> User | None:
    if rotation is None:
        return None
    people = members(rotation)
    return people[shift_index(rotation, at) % len(people)] if people else None


def on_call(
    roster: Roster,
    at: datetime,
    *,
    versions: Sequence[Rotation] | None = None,
    overrides: Sequence[Override] | None = None,
) -> User | None:
    """The one person on call for ``roster`` at instant ``at``; None when nobody is.

    An override covering ``at`` (start included, end excluded) wins; otherwise the turn
    of the rotation version in force at ``at``, nobody before the first version or when
    it has no participants. Pass ``versions`` (with members) and ``overrides`` (loaded
    once) to compute many instants.
    """
    if overrides is None:
        overrides = list(
            roster.overrides.filter(starts_at__lte=at, ends_at__gt=at).select_related("user")
        )
    for override in overrides:
        if override.starts_at <= at < override.ends_at:
            return override.user
    if versions is None:
        current = (
            roster.rotations.filter(effective_from__lte=at)
            .order_by("-effective_from")
            .prefetch_related("members__user")
            .first()
        )
        return _turn(current, at)
    return _turn(in_force(versions, at), at)


def _handoffs(versions: Sequence[Rotation], start: datetime, end: datetime) -> set[datetime]:
    """Every instant in (start, end) where a version takes over or a shift hands off."""
    edges: set[datetime] = set()
    for rotation, following in itertools.zip_longest(versions, versions[1:]):
        until = min(end, following.effective_from) if following is not None else end
        since = max(start, rotation.effective_from)
        if since >= until:
            continue
        if start < rotation.effective_from < end:
            edges.add(rotation.effective_from)
        index = shift_index(rotation, since)
        while True:
            _, handoff = shift_bounds(rotation, index)
            if handoff >= until:
                break
            if handoff > since:
                edges.add(handoff)
            index += 1
    return edges


def _slots(roster: Roster, start: datetime, end: datetime, *, merge: bool) -> list[Slot]:
    versions = rotations(roster)
    overrides = [o for o in roster.overrides.all() if o.ends_at > start and o.starts_at < end]
    # Every instant where the answer may change: hand-offs, new versions, override edges.
    edges = {start, end} | _handoffs(versions, start, end)
    for override in overrides:
        edges.update(edge for edge in (override.starts_at, override.ends_at) if start < edge < end)
    slots: list[Slot] = []
    for slot_start, slot_end in itertools.pairwise(sorted(edges)):
        user = on_call(roster, slot_start, versions=versions, overrides=overrides)
        covered = any(o.starts_at <= slot_start < o.ends_at for o in overrides)
        last = slots[-1] if slots else None
        if merge and last and last.user == user and last.override == covered:
            slots[-1] = Slot(user, last.starts_at, slot_end, covered)
        else:
            slots.append(Slot(user, slot_start, slot_end, covered))
    return slots


def schedule(roster: Roster, start: datetime, end: datetime) -> list[Slot]:
    """Who is on call from ``start`` to ``end``, as consecutive slots (gaps have no user).

    Uses ``roster.rotations`` (with ``members``) and ``roster.overrides`` as loaded
    (prefetch them, see ``selectors.rosters_for_schedule``) and runs no query of its own
    then.
    """
    return _slots(roster, start, end, merge=True)


def _edge_at_or_before(roster: Roster, at: datetime) -> datetime:
    """The last instant not after ``at`` where who is on call may have changed."""
    versions = rotations(roster)
    candidates = [o.starts_at for o in roster.overrides.all() if o.starts_at <= at]
    candidates += [o.ends_at for o in roster.overrides.all() if o.ends_at <= at]
    current = in_force(versions, at)
    if current is not None:
        begins, _ = shift_bounds(current, shift_index(current, at))
        candidates += [begins, current.effective_from]
    return max(candidates, default=at)


def _edge_after(roster: Roster, at: datetime) -> datetime:
    """The first instant after ``at`` where who is on call may change."""
    versions = rotations(roster)
    candidates = [o.starts_at for o in roster.overrides.all() if o.starts_at > at]
    candidates += [o.ends_at for o in roster.overrides.all() if o.ends_at > at]
    candidates += [r.effective_from for r in versions if r.effective_from > at]
    current = in_force(versions, at)
    if current is not None:
        _, ends = shift_bounds(current, shift_index(current, at))
        candidates.append(ends)
    return min(candidates, default=at)


def shifts(roster: Roster, start: datetime, end: datetime) -> list[Slot]:
    """Every shift that overlaps ``start`` to ``end``, whole: the first one from its real
    beginning, the last one to its real end, and a hand-off to the same person (or an
    override's edge) still separates two shifts. What a calendar feed lists: a shift is
    the same event, with the same start, whenever and through whichever window it is
    read. Queries as ``schedule``."""
    slots = _slots(roster, _edge_at_or_before(roster, start), _edge_after(roster, end), merge=False)
    return [slot for slot in slots if slot.starts_at < end]


def current_slot_end(roster: Roster, at: datetime) -> datetime | None:
    """When the rotation's turn at ``at`` ends (its next hand-off, or the next version
    taking over); None when nobody's turn it is (no version or nobody in it)."""
    versions = rotations(roster)
    current = in_force(versions, at)
    if current is None or not members(current):
        return None
    _, ends = shift_bounds(current, shift_index(current, at))
    later = [r.effective_from for r in versions if r.effective_from > at]
    return min([ends, *later])


def gaps(roster: Roster, start: datetime, end: datetime) -> list[Slot]:
    return [slot for slot in schedule(roster, start, end) if slot.user is None]
