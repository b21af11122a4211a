"""The support dashboard's reads (HANDBOOK §1): active incidents with their labelled
cases, recently resolved ones, and the change marker its polls compare.

``incidents`` never imports ``comms``; the time of each incident's last public update
comes from a provider comms registers in ``AppConfig.ready()``. Without one the column
says "unknown".
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Max
from django.utils import timezone

from .models import Incident, Product, Status, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# (incident ids) -> {incident id: when its latest update was published}; one query.
LastUpdates = Callable[[Collection[int]], dict[int, datetime]]

RECENTLY_RESOLVED = timedelta(hours=24)
RESOLVED_SHOWN = 20
# A severe incident this young is highlighted: support should notice it at once.
NEW_FOR = timedelta(minutes=15)

# The incident fields the board shows.
SHOWN_FIELDS = (
    "key",
    "summary",
    "severity",
    "status",
    "restricted",
    "assignee",
    "impact_started_at",
    "impact_ended_at",
    "created_at",
)

_last_updates: LastUpdates | None = None


def register_last_updates(provider: LastUpdates) -> None:
    global _last_updates
    _last_updates = provider


def unregister() -> None:
    global _last_updates
    _last_updates = None


def change_marker(now: datetime | None = None) -> str:
    """Changes whenever any incident does (actions touch ``updated_at`` for their
    timeline entries, labels and published updates too) and once a minute, so the
    "5 minutes ago" texts stay right. One index-only query."""
    now = now or timezone.now()
    latest = Incident.objects.aggregate(latest=Max("updated_at"))["latest"]
    stamp = latest.timestamp() if latest else 0.0
    return f"{stamp:.6f}-{int(now.timestamp() // 60)}"


@dataclass(frozen=True)
class Board:
    active: list[Incident]
    resolved: list[Incident]
    # None while no app publishes updates.
    last_updates: dict[int, datetime] | None
    new_since: datetime


def board(
    user: User | AnonymousUser,
    *,
    product: Product | None = None,
    team: Team | None = None,
    now: datetime | None = None,
) -> Board:
    """What the dashboard shows, in a constant number of queries (four at most, whatever
    the number of incidents)."""
    now = now or timezone.now()
    # Only what the board shows: building model instances is most of its cost. The
    # products are read below for the active rows only: a generic prefetch builds a
    # queryset per incident (~0.2 ms each) and the resolved rows never show products.
    incidents = (
        Incident.objects.visible_to(user)
        .select_related("assignee")
        .only(*SHOWN_FIELDS)
        .with_case_count()
    )
    if product is not None:
        incidents = incidents.filter(affected_products=product)
    if team is not None:
        incidents = incidents.filter(faulty_service__team=team)
    # Most severe first; within a severity the longest-running first.
    active = list(incidents.open().order_by("severity", "created_at", "pk"))
    resolved = list(
        incidents.filter(
            status=Status.RESOLVED, impact_ended_at__gte=now - RECENTLY_RESOLVED
        ).order_by("-impact_ended_at", "-pk")[:RESOLVED_SHOWN]
    )
    last_updates = None
    if _last_updates is not None:
        last_updates = _last_updates([incident.pk for incident in active]) if active else {}
    product_names: dict[int, list[str]] = {incident.pk: [] for incident in active}
    if active:
        # Ordered like Product (by name), as the prefetch was.
        links = (
            Incident.affected_products.through.objects.filter(incident_id__in=product_names)
            .order_by("product__name", "product_id")
            .values_list("incident_id", "product__name")
        )
        for incident_id, name in links:
            product_names[incident_id].append(name)
    for incident in active:
        incident.product_names = product_names[incident.pk]  # type: ignore[attr-defined]
        incident.last_update_at = (last_updates or {}).get(incident.pk)  # type: ignore[attr-defined]
        incident.is_new_severe = (  # type: ignore[attr-defined]
            incident.severity <= 2 and incident.created_at >= now - NEW_FOR
        )
    return Board(
        active=active, resolved=resolved, last_updates=last_updates, new_since=now - NEW_FOR
    )
