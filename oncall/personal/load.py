"""The on-call load report: for a period, per person, pages received, pages at night in
their own zone, hours on call and incidents managed, to share the load fairly.

A person's zone is that of the rotation they joined last (rosters compute in their own
zone, DESIGN rule 5; people have no zone of their own yet), else the portal's. Nights
run 22:00 to 07:00 there. Hours on call are the rosters' schedules (rotation turns and
overrides, swaps included) cut to the period and to now. Incidents managed are incidents where the
person became incident manager in the period. A constant number of queries whatever the
number of people, pages or rosters.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from incidents.models import Team
from incidents.models.roles import Role, RoleAssignment
from incidents.support.charts import histogram_svg

from .. import schedule, selectors
from ..models import Page, PageState, Participant

NIGHT_STARTS = time(22, 0)
NIGHT_ENDS = time(7, 0)


@dataclass(frozen=True)
class PersonLoad:
    user: User
    time_zone: str
    pages: int
    night_pages: int
    hours_on_call: float
    incidents_managed: int


def is_night(at: datetime, time_zone: str) -> bool:
    local = at.astimezone(ZoneInfo(time_zone)).time()
    return local >= NIGHT_STARTS or local < NIGHT_ENDS


def _zones() -> dict[int, str]:
    """Each participant's zone: the rotation they joined last wins."""
    zones: dict[int, str] = {}
    rows = Participant.objects.order_by("rotation__effective_from", "pk").values_list(
        "user_id", "rotation__time_zone"
    )
    for user_id, zone in rows:
        zones[user_id] = zone
    return zones


def people_of(teams: QuerySet[Team]) -> set[int]:
    """The teams' people: their members, and everyone in a rotation of their rosters
    (someone lent by another team carries this team's load too). One query."""
    members = Team.members.through.objects.filter(team__in=teams).values_list("user_id")
    on_rosters = Participant.objects.filter(roster__team__in=teams).values_list("user_id")
    # A compound statement takes no ORDER BY in its parts (Participant has one).
    return {user_id for (user_id,) in members.order_by().union(on_rosters.order_by())}


def report(
    start: datetime, end: datetime, *, teams: QuerySet[Team] | None = None
) -> list[PersonLoad]:
    """Everyone paged, on call or managing an incident in [start, end), busiest first;
    with ``teams`` (a team admin's, ``access.administered_teams``), only their people.
    Each row counts all of the person's load, whichever team's roster or incident."""
    shown = None if teams is None else people_of(teams)
    hours: dict[int, float] = defaultdict(float)
    people: dict[int, User] = {}
    # Hours still ahead are planned, not worked: counted up to now.
    worked_until = min(end, timezone.now())
    for roster in selectors.rosters_for_schedule() if worked_until > start else []:
        for slot in schedule.schedule(roster, start, worked_until):
            if slot.user is not None:
                people[slot.user.pk] = slot.user
                hours[slot.user.pk] += (slot.ends_at - slot.starts_at).total_seconds() / 3600
    zones = _zones()
    pages: dict[int, int] = defaultdict(int)
    nights: dict[int, int] = defaultdict(int)
    received = (
        Page.objects.filter(user__isnull=False, created_at__gte=start, created_at__lt=end)
        .exclude(state=PageState.CANCELLED)
        .values_list("user_id", "created_at")
    )
    for user_id, created_at in received:
        pages[user_id] += 1
        nights[user_id] += is_night(created_at, zones.get(user_id, settings.TIME_ZONE))
    managed = dict(
        RoleAssignment.objects.filter(
            role=Role.INCIDENT_MANAGER, started_at__gte=start, started_at__lt=end
        )
        .values("person_id")
        .annotate(count=Count("incident", distinct=True))
        .values_list("person_id", "count")
    )
    missing = (set(pages) | set(managed)) - set(people)
    if shown is not None:
        missing &= shown
    people.update({user.pk: user for user in User.objects.filter(pk__in=missing)})
    rows = [
        PersonLoad(
            user=user,
            time_zone=zones.get(pk, settings.TIME_ZONE),
            pages=pages.get(pk, 0),
            night_pages=nights.get(pk, 0),
            hours_on_call=round(hours.get(pk, 0.0), 2),
            incidents_managed=managed.get(pk, 0),
        )
        for pk, user in people.items()
        if shown is None or pk in shown
    ]
    return sorted(rows, key=lambda row: (-row.hours_on_call, -row.pages, row.user.get_username()))


def name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def charts(rows: list[PersonLoad]) -> dict[str, SafeString]:
    return {
        "hours": histogram_svg(
            [(name(r.user), round(r.hours_on_call)) for r in rows], _("Hours on call per person")
        ),
        "nights": histogram_svg(
            [(name(r.user), r.night_pages) for r in rows], _("Pages at night per person")
        ),
    }


def as_csv(rows: list[PersonLoad], start: datetime, end: datetime) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "username",
            "name",
            "time_zone",
            "pages",
            "night_pages",
            "hours_on_call",
            "incidents_managed",
            "period_start",
            "period_end",
        ]
    )
    for row in rows:
        writer.writerow(
            [
                row.user.get_username(),
                row.user.get_full_name(),
                row.time_zone,
                row.pages,
                row.night_pages,
                f"{row.hours_on_call:.2f}",
                row.incidents_managed,
                start.isoformat(),
                end.isoformat(),
            ]
        )
    return out.getvalue()


def default_period(now: datetime, days: int = 28) -> tuple[datetime, datetime]:
    """The last ``days`` whole days up to the end of today, in the portal's zone."""
    zone = ZoneInfo(settings.TIME_ZONE)
    today = now.astimezone(zone).date()
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
    start = datetime.combine(today - timedelta(days=days - 1), time(0), tzinfo=zone)
    return start, end
