"""Reads shared by the on-call pages, the API and the feeds."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident

from . import schedule
from .models import (
    IMOC_SLUG,
    DeliveryAttempt,
    Override,
    Page,
    PageState,
    PagingEvent,
    Participant,
    Roster,
    Rotation,
)


def rosters_for_schedule() -> QuerySet[Roster]:
    """Rosters with what ``schedule`` needs, in a constant number of queries."""
    return Roster.objects.select_related("team").prefetch_related(
        Prefetch("rotations", queryset=Rotation.objects.order_by("effective_from")),
        Prefetch("rotations__members", queryset=Participant.objects.select_related("user")),
        Prefetch("overrides", queryset=Override.objects.select_related("user")),
    )


def newest_rotation(roster: Roster) -> Rotation | None:
    """The rotation as last saved (maybe not yet in force), from prefetched rotations."""
    versions = schedule.rotations(roster)
    return versions[-1] if versions else None


def newest_members(roster: Roster) -> list[User]:
    rotation = newest_rotation(roster)
    return schedule.members(rotation) if rotation is not None else []


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
        rosters_for_schedule().filter(archived_at__isnull=True),
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
    rosters = rosters_for_schedule().filter(
        Q(slug=IMOC_SLUG) | Q(team__services__isnull=False), archived_at__isnull=True
    )
    found = []
    for roster in rosters.distinct():
        found += [Gap(roster, s.starts_at, s.ends_at) for s in schedule.gaps(roster, start, end)]
    return sorted(found, key=lambda gap: (gap.starts_at, gap.roster.name))


def rosters_of(user: User) -> QuerySet[Roster]:
    """Rosters the person ever took part in or covered, ready for ``schedule``.

    Each side a subquery, not ``Q(participants__user=...) | Q(overrides__user=...)``:
    joined, every roster's places were paired with every override it ever had before
    the filter, a read that grew with the rosters' whole history."""
    took_part = Participant.objects.filter(user=user).values("roster_id")
    covered = Override.objects.filter(user=user).values("roster_id")
    return rosters_for_schedule().filter(Q(pk__in=took_part) | Q(pk__in=covered))


def user_schedule(user: User, start: datetime, end: datetime) -> list[tuple[Roster, schedule.Slot]]:
    return [
        (roster, slot)
        for roster in rosters_of(user)
        for slot in schedule.schedule(roster, start, end)
        if slot.user == user
    ]


def incident_paging(incident: Incident) -> tuple[list[Page], list[PagingEvent]]:
    pages = list(Page.objects.for_list().filter(incident=incident))
    history = list(PagingEvent.objects.filter(incident=incident).select_related("by"))
    return pages, history


@dataclass(frozen=True)
class ChannelState:
    """Where one channel of a page stands: delivered, retrying (next try at
    ``next_attempt_at``), failed (gave up: ``why``) or stopped (the page was settled
    otherwise, acknowledged or cancelled, while it was still retrying)."""

    channel: str
    label: str
    # What people may see of it: a webhook's URL is a credential (``shown_target``).
    target: str
    status: str
    tries: int
    last_at: datetime
    next_attempt_at: datetime | None
    why: str

    @property
    def status_label(self) -> str:
        return str(CHANNEL_STATUS_LABELS[self.status])


# ``ChannelState.status`` as people read it (the machine value stays in ``status``).
CHANNEL_STATUS_LABELS = {
    "delivered": _("delivered"),
    "failed": _("failed"),
    "retrying": _("retrying"),
    "stopped": _("stopped"),
}


def channel_states(page: Page) -> list[ChannelState]:
    """Per channel of the page, from its attempts (prefetched by ``for_list``)."""
    latest: dict[tuple[str, str], DeliveryAttempt] = {}
    tries: dict[tuple[str, str], int] = {}
    for attempt in page.attempts.all():
        key = (attempt.channel, attempt.target)
        tries[key] = tries.get(key, 0) + 1
        if key not in latest or not latest[key].ok:
            latest[key] = attempt
    states = []
    for key, attempt in latest.items():
        next_at = None
        if attempt.ok:
            status, why = "delivered", ""
        elif attempt.gave_up:
            status, why = "failed", attempt.shown_result
        elif page.state == PageState.PENDING:
            status, why, next_at = "retrying", attempt.shown_result, page.next_attempt_at
        else:
            status, why = "stopped", attempt.shown_result
        states.append(
            ChannelState(
                channel=attempt.channel,
                label=attempt.get_channel_display(),
                target=attempt.shown_target,
                status=status,
                tries=tries[key],
                last_at=attempt.started_at,
                next_attempt_at=next_at,
                why=why,
            )
        )
    return states


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
    rosters = sorted(rosters_of(person), key=lambda roster: (roster.team_id != team_id, roster.pk))
    for roster in rosters:
        for slot in schedule.schedule(roster, now, now + timedelta(days=60)):
            if slot.user is not None and slot.user != person:
                return slot.user
    return None
