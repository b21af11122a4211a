"""Reads about incidents that views, the API and other apps share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from incidents.models import (
    HUMAN_KINDS,
    OPEN_STATUSES,
    EntryKind,
    Incident,
    IncidentChange,
    RoleAssignment,
    Service,
    Theory,
)
from incidents.workspace import fatigue
from incidents.workspace.models import ServiceChange

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class NearbyChange:
    change: ServiceChange
    # Signed: negative before the impact started, positive after.
    offset: timedelta
    suspected: bool
    rolled_back: bool


def change_window(incident: Incident) -> tuple[datetime, datetime, datetime]:
    """The anchor (impact start, else detection, else logging) and the window around it."""
    anchor = incident.impact_started_at or incident.detected_at or incident.created_at
    before = timedelta(minutes=settings.CHANGE_WINDOW_BEFORE_MINUTES)
    after = timedelta(minutes=settings.CHANGE_WINDOW_AFTER_MINUTES)
    return anchor, anchor - before, anchor + after


def changes_near_impact(incident: Incident, *, limit: int = 50) -> list[NearbyChange]:
    """Changes to the faulty service and to the affected products' services inside the
    window around the impact start, closest first. Three queries."""
    anchor, start, end = change_window(incident)
    services = Service.objects.filter(
        Q(pk=incident.faulty_service_id) | Q(products__in=incident.affected_products.all())
    ).values("pk")
    changes = list(
        ServiceChange.objects.filter(
            service__in=services, happened_at__gte=start, happened_at__lte=end
        ).select_related("service")[:limit]
    )
    ids = [change.pk for change in changes]
    suspected = set(
        Theory.objects.filter(incident=incident, suspects__in=ids).values_list(
            "suspects", flat=True
        )
    )
    rolled_back = set(
        IncidentChange.objects.filter(incident=incident, rolls_back__in=ids).values_list(
            "rolls_back", flat=True
        )
    )
    rows = [
        NearbyChange(
            change=change,
            offset=change.happened_at - anchor,
            suspected=change.pk in suspected,
            rolled_back=change.pk in rolled_back,
        )
        for change in changes
    ]
    rows.sort(key=lambda row: (abs(row.offset), row.change.pk))
    return rows


@dataclass(frozen=True)
class ResponderLoad:
    person: User
    roles: list[str]
    on_incident_since: datetime
    # The end of their last break or hand-over, if they had one.
    rested_at: datetime | None
    awake_for: timedelta
    pages_24h: int | None  # None: no app counts pages (shown as "unknown")
    level: str  # "ok", "amber" or "red"
    next_up: User | None


def responder_fatigue(incident: Incident, *, now: datetime | None = None) -> list[ResponderLoad]:
    """Everyone working the incident: current role holders and people who wrote on the
    timeline in the last day. Longest awake first. A constant number of queries."""
    now = now or timezone.now()
    day_ago = now - timedelta(hours=24)
    assignments = list(incident.roles.select_related("person"))
    # What people wrote themselves, and breaks; not system entries such as "logged by".
    entries = list(
        incident.timeline.filter(
            author__isnull=False, kind__in=[*HUMAN_KINDS, EntryKind.BREAK]
        ).values_list("author_id", "recorded_at", "kind", "data")
    )
    people: dict[int, User] = {
        held.person_id: held.person for held in assignments if held.is_current
    }
    recent_authors = {
        author
        for author, recorded, kind, _ in entries
        if recorded >= day_ago and kind != EntryKind.BREAK
    } - set(people)
    if recent_authors:
        for user in get_user_model()._default_manager.filter(pk__in=recent_authors):
            people[user.pk] = user
    if not people:
        return []
    first: dict[int, datetime] = {}
    rested: dict[int, datetime] = {}
    for held in assignments:
        first[held.person_id] = min(first.get(held.person_id, held.started_at), held.started_at)
        if held.ended_at is not None:
            rested[held.person_id] = max(rested.get(held.person_id, held.ended_at), held.ended_at)
    for author, recorded, kind, data in entries:
        if kind == EntryKind.BREAK:
            person_id = data.get("person_id")
            if person_id is not None:
                rested[person_id] = max(rested.get(person_id, recorded), recorded)
            continue
        first[author] = min(first.get(author, recorded), recorded)
    pages = fatigue.pages_received(list(people), day_ago)
    amber = timedelta(hours=settings.FATIGUE_AMBER_HOURS)
    red = timedelta(hours=settings.FATIGUE_RED_HOURS)
    spare = _spare_teammates(incident, exclude=set(people))
    loads = []
    for person_id, person in people.items():
        since = first.get(person_id, now)
        rested_at = rested.get(person_id)
        awake = now - max(since, rested_at) if rested_at else now - since
        level = "red" if awake >= red else "amber" if awake >= amber else "ok"
        next_up = None
        if level != "ok":
            next_up = fatigue.next_on_roster(incident, person) or (spare[0] if spare else None)
        loads.append(
            ResponderLoad(
                person=person,
                roles=[
                    held.label
                    for held in assignments
                    if held.is_current and held.person_id == person_id
                ],
                on_incident_since=since,
                rested_at=rested_at,
                awake_for=awake,
                pages_24h=pages.get(person_id) if pages is not None else None,
                level=level,
                next_up=next_up,
            )
        )
    loads.sort(key=lambda load: (-load.awake_for, load.person.get_username()))
    return loads


def _spare_teammates(incident: Incident, *, exclude: set[int]) -> list[User]:
    """Members of the faulty service's team holding no role on any open incident: who
    could take over when no roster says who is next."""
    team_id = incident.faulty_service.team_id
    if team_id is None:
        return []
    busy = RoleAssignment.objects.current().filter(incident__status__in=OPEN_STATUSES)
    return list(
        get_user_model()
        ._default_manager.filter(teams=team_id, is_active=True)
        .exclude(pk__in=exclude)
        .exclude(pk__in=busy.values("person_id"))
        .order_by("username")[:3]
    )
