"""Reads shared by the on-call pages, the API and the feeds."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from incidents.models import Incident

from . import schedule
from .models import IMOC_SLUG, Override, Page, PageState, PagingEvent, Participant, Roster


def rosters_for_schedule() -> QuerySet[Roster]:
    """Rosters with what ``schedule`` needs, in a constant number of queries."""
    return Roster.objects.select_related("team").prefetch_related(
        Prefetch("participants", queryset=Participant.objects.select_related("user")),
        Prefetch("overrides", queryset=Override.objects.select_related("user")),
    )


@dataclass(frozen=True)
class RosterNow:
    roster: Roster
    now: schedule.Slot | None
    next: schedule.Slot | None


def now_and_next(
    roster: Roster, at: datetime, horizon: timedelta = timedelta(days=60)
) -> RosterNow:
    slots = schedule.schedule(roster, at, at + horizon)
    current = slots[0] if slots else None
    following = next((slot for slot in slots[1:] if slot.user is not None), None)
    return RosterNow(roster, current, following)


def board(at: datetime | None = None) -> list[RosterNow]:
    at = at or timezone.now()
    rosters = sorted(
        rosters_for_schedule(),
        key=lambda r: (r.slug != IMOC_SLUG, r.team.name if r.team else "", r.name),
    )
    return [now_and_next(roster, at) for roster in rosters]


@dataclass(frozen=True)
class Gap:
    roster: Roster
    starts_at: datetime
    ends_at: datetime


def coverage_gaps(start: datetime | None = None, days: int = 14) -> list[Gap]:
    """Every stretch in the next ``days`` when a roster that answers pages has nobody:
    the IMOC and the rosters of teams that own services."""
    start = start or timezone.now()
    end = start + timedelta(days=days)
    rosters = rosters_for_schedule().filter(Q(slug=IMOC_SLUG) | Q(team__services__isnull=False))
    found = []
    for roster in rosters.distinct():
        found += [Gap(roster, s.starts_at, s.ends_at) for s in schedule.gaps(roster, start, end)]
    return sorted(found, key=lambda gap: (gap.starts_at, gap.roster.name))


def user_schedule(user: User, start: datetime, end: datetime) -> list[tuple[Roster, schedule.Slot]]:
    rosters = (
        rosters_for_schedule()
        .filter(Q(participants__user=user) | Q(overrides__user=user))
        .distinct()
    )
    return [
        (roster, slot)
        for roster in rosters
        for slot in schedule.schedule(roster, start, end)
        if slot.user == user
    ]


def incident_paging(incident: Incident) -> tuple[list[Page], list[PagingEvent]]:
    pages = list(Page.objects.for_list().filter(incident=incident))
    history = list(PagingEvent.objects.filter(incident=incident).select_related("by"))
    return pages, history


# Providers for the incident page's fatigue card (incidents.workspace.fatigue) ---------------------


def pages_received(user_ids: Collection[int], since: datetime) -> dict[int, int]:
    """Pages each person was sent (or is being sent) since ``since``: one query."""
    rows = (
        Page.objects.filter(user_id__in=user_ids, created_at__gte=since)
        .exclude(state=PageState.CANCELLED)
        .values("user_id")
        .annotate(count=Count("pk"))
    )
    return {row["user_id"]: row["count"] for row in rows}


def next_responder(incident: Incident, person: User) -> User | None:
    """Who takes over from ``person``: the next one on the roster they are on call for,
    the faulty service's team roster first."""
    now = timezone.now()
    team_id = incident.faulty_service.team_id
    rosters = sorted(
        rosters_for_schedule()
        .filter(Q(participants__user=person) | Q(overrides__user=person))
        .distinct(),
        key=lambda roster: (roster.team_id != team_id, roster.pk),
    )
    for roster in rosters:
        for slot in schedule.schedule(roster, now, now + timedelta(days=60)):
            if slot.user is not None and slot.user != person:
                return slot.user
    return None
