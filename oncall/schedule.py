"""Who is on call when: the rotation arithmetic, in the roster's own time zone.

Shifts are counted in local wall-clock time from the first hand-off, so a hand-off at
09:00 in Europe/Paris stays at 09:00 on both sides of a daylight-saving change (that
shift is then an hour shorter or longer in real time). Overrides win over turns.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User

from .models import Override, Roster, ShiftUnit


@dataclass(frozen=True)
class Slot:
    """Someone (or no one) on call from ``starts_at`` to ``ends_at``, both UTC."""

    user: User | None
    starts_at: datetime
    ends_at: datetime
    override: bool = False


def _shift(roster: Roster) -> timedelta:
    unit = {ShiftUnit.HOURS: "hours", ShiftUnit.DAYS: "days", ShiftUnit.WEEKS: "weeks"}
    return timedelta(**{unit[ShiftUnit(roster.shift_unit)]: roster.shift_length})


def _first_handoff_local(roster: Roster) -> datetime:
    """The first hand-off as a naive local wall-clock time."""
    return datetime.combine(roster.start_date, roster.handoff_time)


def _to_utc(roster: Roster, local: datetime) -> datetime:
    # fold=0: a wall-clock time that happens twice (autumn) means its first occurrence;
    # one that never happens (spring) maps to the instant the clock jumped to.
    aware = local.replace(tzinfo=ZoneInfo(roster.time_zone), fold=0)
    return aware.astimezone(UTC)


def _local(roster: Roster, at: datetime) -> datetime:
    return at.astimezone(ZoneInfo(roster.time_zone)).replace(tzinfo=None)


def shift_index(roster: Roster, at: datetime) -> int:
    """Which shift ``at`` falls in, counted from 0 at the first hand-off (negative before)."""
    return (_local(roster, at) - _first_handoff_local(roster)) // _shift(roster)


def shift_bounds(roster: Roster, index: int) -> tuple[datetime, datetime]:
    start = _first_handoff_local(roster) + index * _shift(roster)
    return _to_utc(roster, start), _to_utc(roster, start + _shift(roster))


def _participants(roster: Roster) -> list[User]:
    return [place.user for place in roster.participants.all()]


def _overrides(roster: Roster) -> list[Override]:
    return list(roster.overrides.all())


def on_call(
    roster: Roster,
    at: datetime,
    *,
    participants: Sequence[User] | None = None,
    overrides: Sequence[Override] | None = None,
) -> User | None:
    """The one person on call for ``roster`` at instant ``at``; None when nobody is.

    An override covering ``at`` (start included, end excluded) wins; otherwise the
    rotation's turn, nobody before the first hand-off or when it has no participants.
    Pass ``participants`` and ``overrides`` (loaded once) to compute many instants.
    """
    if overrides is None:
        overrides = list(
            roster.overrides.filter(starts_at__lte=at, ends_at__gt=at).select_related("user")
        )
    for override in overrides:
        if override.starts_at <= at < override.ends_at:
            return override.user
    if participants is None:
        participants = [place.user for place in roster.participants.select_related("user")]
    people = list(participants)
    index = shift_index(roster, at)
    if not people or index < 0:
        return None
    return people[index % len(people)]


def schedule(roster: Roster, start: datetime, end: datetime) -> list[Slot]:
    """Who is on call from ``start`` to ``end``, as consecutive slots (gaps have no user).

    Uses ``roster.participants`` and ``roster.overrides`` as loaded (prefetch them with
    ``users`` and ``user`` for lists of rosters) and runs no query of its own then.
    """
    people = _participants(roster)
    overrides = [o for o in _overrides(roster) if o.ends_at > start and o.starts_at < end]
    # Every instant where the answer may change: hand-offs and override edges.
    edges = {start, end}
    index = shift_index(roster, start)
    while True:
        _, handoff = shift_bounds(roster, index)
        if handoff >= end:
            break
        if handoff > start:
            edges.add(handoff)
        index += 1
    for override in overrides:
        edges.update(edge for edge in (override.starts_at, override.ends_at) if start < edge < end)
    points = sorted(edges)
    slots: list[Slot] = []
    for slot_start, slot_end in itertools.pairwise(points):
        user = on_call(roster, slot_start, participants=people, overrides=overrides)
        covered = any(o.starts_at <= slot_start < o.ends_at for o in overrides)
        last = slots[-1] if slots else None
        if last and last.user == user and last.override == covered:
            slots[-1] = Slot(user, last.starts_at, slot_end, covered)
        else:
            slots.append(Slot(user, slot_start, slot_end, covered))
    return slots


def gaps(roster: Roster, start: datetime, end: datetime) -> list[Slot]:
    return [slot for slot in schedule(roster, start, end) if slot.user is None]
