"""The public page's uptime history: a bar per product and day for the last 90 days,
coloured by the worst status the product had that day, as Atlassian Statuspage shows it.

Read from the components' status history (``ComponentStatusChange``) in two queries
whatever the number of products and changes: each product's status when the window
opens, and every change inside it with the public incident that made it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from .models import Audience, Component, ComponentStatus, ComponentStatusChange

UPTIME_DAYS = 90
# Statuspage's uptime figure: a major outage is downtime in full, a partial outage for
# 30 % of its length; degraded performance and maintenance are not downtime.
DOWNTIME_WEIGHT: dict[str, float] = {ComponentStatus.MAJOR: 1.0, ComponentStatus.PARTIAL: 0.3}
# Worst first, as the page's overall status ranks them.
RANK = [
    ComponentStatus.MAJOR,
    ComponentStatus.PARTIAL,
    ComponentStatus.DEGRADED,
    ComponentStatus.MAINTENANCE,
    ComponentStatus.OPERATIONAL,
]


def _duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if hours:
        return ngettext("%(hours)d hour", "%(hours)d hours", hours) % {"hours": hours}
    return ngettext("%(minutes)d minute", "%(minutes)d minutes", minutes) % {"minutes": minutes}


@dataclass
class UptimeDay:
    day: date
    seconds: dict[str, float] = field(default_factory=dict)
    incidents: list[str] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        """False for a day before the product was on the page."""
        return bool(self.seconds)

    @property
    def status(self) -> str | None:
        """The worst status the product had that day."""
        return next((s for s in RANK if self.seconds.get(s, 0) > 0), None)

    @property
    def status_label(self) -> str:
        return str(ComponentStatus(self.status).label) if self.status else gettext("No data")

    @property
    def downtimes(self) -> list[tuple[str, str]]:
        """(status label, how long) of each status other than operational, worst first."""
        return [
            (str(ComponentStatus(s).label), _duration(self.seconds[s]))
            for s in RANK
            if s != ComponentStatus.OPERATIONAL and self.seconds.get(s, 0) > 0
        ]


@dataclass
class Uptime:
    days: list[UptimeDay]

    @property
    def percent(self) -> float | None:
        total = sum(sum(day.seconds.values()) for day in self.days)
        if not total:
            return None
        down = sum(
            seconds * DOWNTIME_WEIGHT.get(status, 0.0)
            for day in self.days
            for status, seconds in day.seconds.items()
        )
        return round(100 * (1 - down / total), 2)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def uptime_history(
    components: list[Component],
    *,
    days: int = UPTIME_DAYS,
    now: datetime | None = None,
    names: dict[int, str] | None = None,
) -> dict[int, Uptime]:
    """Each component's last ``days`` days (UTC, today last), keyed by component id.
    ``names``: what the page calls its incidents in the reader's language, by page id
    (the page has them at hand); others keep the name stored at publishing."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start = _midnight(first)
    ids = [component.pk for component in components]
    before = (
        ComponentStatusChange.objects.filter(component=OuterRef("pk"), changed_at__lt=start)
        .order_by("-changed_at", "-id")
        .values("new_status")[:1]
    )
    at_start = dict(
        Component.objects.filter(pk__in=ids)
        .annotate(at_start=Subquery(before))
        .values_list("pk", "at_start")
    )
    changes: dict[int, list[tuple[datetime, str, str | None]]] = defaultdict(list)
    rows = (
        ComponentStatusChange.objects.filter(component_id__in=ids, changed_at__gte=start)
        .order_by("changed_at", "id")
        .values_list(
            "component_id",
            "changed_at",
            "new_status",
            "update__page_incident_id",
            "update__page_incident__name",
            "update__page_incident__audience",
            "update__page_incident__incident__restricted",
        )
    )
    for component_id, changed_at, status, page, name, audience, restricted in rows:
        # Only what the public page itself showed may be named on it.
        public = audience == Audience.EXTERNAL and restricted is False
        shown = (names or {}).get(page, name) if public else None
        changes[component_id].append((changed_at, status, shown))
    return {
        component.pk: _component_days(
            component, at_start.get(component.pk), changes[component.pk], first, days, now
        )
        for component in components
    }


def _component_days(
    component: Component,
    status_at_start: str | None,
    changes: list[tuple[datetime, str, str | None]],
    first: date,
    days: int,
    now: datetime,
) -> Uptime:
    window = [UptimeDay(first + timedelta(days=n)) for n in range(days)]
    begin = max(_midnight(first), component.created_at)
    segments: list[tuple[datetime, str, str | None]] = [
        (begin, status_at_start or ComponentStatus.OPERATIONAL, None),
        *changes,
    ]
    for index, (since, status, name) in enumerate(segments):
        until = segments[index + 1][0] if index + 1 < len(segments) else now
        since = max(since, begin)
        if until <= since:
            continue
        offset = (since.astimezone(UTC).date() - first).days
        while offset < days:
            day = window[offset]
            day_start = _midnight(day.day)
            overlap = (
                min(until, day_start + timedelta(days=1)) - max(since, day_start)
            ).total_seconds()
            if overlap <= 0:
                break
            day.seconds[status] = day.seconds.get(status, 0.0) + overlap
            if name and status != ComponentStatus.OPERATIONAL and name not in day.incidents:
                day.incidents.append(name)
            offset += 1
    return Uptime(window)
