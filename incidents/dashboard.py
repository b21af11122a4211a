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

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Max, Q, Window
from django.utils import timezone

from .models import OPEN_STATUSES, Incident, Product, Status, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# (incident ids) -> {incident id: when its latest update was published}; one query.
LastUpdates = Callable[[Collection[int]], dict[int, datetime]]

# A live board shows the incidents a team can act on, not a thousand rows: the most
# severe and longest-running first, and a link to the full list for the rest. A
# hundred rows is a few screens; past that people filter by product or team.
ACTIVE_SHOWN = 100
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
    "impact_started_at",
    "impact_ended_at",
    "created_at",
    "updated_at",
)

# The cached version of everything the board shows; see ``change_marker``.
VERSION_KEY = "support-board:version"

_last_updates: LastUpdates | None = None


def register_last_updates(provider: LastUpdates) -> None:
    global _last_updates
    _last_updates = provider


def unregister() -> None:
    global _last_updates
    _last_updates = None


def _stored_version() -> int:
    """The newest incident change, in microseconds: one index-only query."""
    latest = Incident.objects.aggregate(latest=Max("updated_at"))["latest"]
    return int(latest.timestamp() * 1_000_000) if latest else 0


def change_marker(now: datetime | None = None) -> str:
    """What a poll compares: it moves whenever anything the board shows changes, and
    once a minute (the "new" highlight and the last day's resolved list follow the
    clock).

    Read from the cache, so an unchanged poll makes no query. The actions move it
    after each commit (``incidents_changed``); when the cache has lost it (evicted, a
    restarted Redis) it starts again from the database's newest ``updated_at``."""
    now = now or timezone.now()
    version = cache.get(VERSION_KEY)
    if version is None:
        version = _stored_version()
        # ``add``: never overwrite a version a commit has just moved.
        if not cache.add(VERSION_KEY, version, timeout=None):
            version = cache.get(VERSION_KEY, version)
    return f"{version}-{int(now.timestamp() // 60)}"


def bump_marker() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        # Not cached: read the database, which now holds the change. A reader that
        # read it before the commit may have ``add``-ed an older value meanwhile; this
        # ``set`` replaces it.
        cache.set(VERSION_KEY, _stored_version(), timeout=None)


def incidents_changed() -> None:
    """Move the marker once the current transaction commits: a poll that sees the new
    marker is sure to read the new rows. Called by the actions for every change of an
    incident, its labelled cases or its published updates (one cache increment each;
    a rolled-back change moves nothing)."""
    transaction.on_commit(bump_marker)


def visibility(user: User | AnonymousUser, *, marker: str) -> tuple[int, ...] | None:
    """People with the same visibility see the same board, so they can share its
    rendering: everyone who may see restricted incidents (None), or everyone who may
    see the same restricted ones among those a board can show (their ids, usually
    none). Which restricted incidents a board can show is kept per marker: usually no
    query at all, a second one only when there are some."""
    if user.has_perm("incidents.view_restricted_incident"):
        return None
    key = f"support-board:restricted:{marker}"
    restricted = cache.get(key)
    if restricted is None:
        on_a_board = Q(status__in=OPEN_STATUSES) | Q(
            status=Status.RESOLVED, impact_ended_at__gte=timezone.now() - RECENTLY_RESOLVED
        )
        restricted = list(
            Incident.objects.filter(on_a_board, restricted=True).values_list("pk", flat=True)
        )
        cache.set(key, restricted, timeout=120)
    if not restricted:
        return ()
    return tuple(
        Incident.objects.visible_to(user)
        .filter(pk__in=restricted)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class Board:
    # The first ``ACTIVE_SHOWN`` of ``active_total`` active incidents.
    active: list[Incident]
    active_total: int
    resolved: list[Incident]
    # None while no app publishes updates.
    last_updates: dict[int, datetime] | None
    new_since: datetime

    @property
    def capped(self) -> bool:
        return self.active_total > len(self.active)

    def shareable_with(self, seen: tuple[int, ...] | None) -> bool:
        """Whether this board may be shown to everyone with visibility ``seen``: it
        holds no restricted incident beyond those. (One made restricted between the
        visibility check and the board's read keeps the board to its reader.)"""
        if seen is None:
            return True
        shown = {row.pk for row in (*self.active, *self.resolved) if row.restricted}
        return shown <= set(seen)


def board(
    user: User | AnonymousUser,
    *,
    product: Product | None = None,
    team: Team | None = None,
    now: datetime | None = None,
) -> Board:
    """What the dashboard shows, in four queries whatever the number of incidents.

    Visibility is the query's (``visible_to``): a restricted incident is never read for
    someone who may not see it, so the rows' cached HTML can be shared."""
    now = now or timezone.now()
    # Only what the board shows: building model instances is most of its cost.
    # The IM's name, not a user object per row.
    incidents = Incident.objects.visible_to(user).only(*SHOWN_FIELDS).with_case_count()
    if product is not None:
        incidents = incidents.filter(affected_products=product)
    if team is not None:
        incidents = incidents.filter(faulty_service__team=team)
    # Most severe first; within a severity the longest-running first. The window
    # counts every active incident before the limit: the total costs no extra query.
    active = list(
        incidents.open()
        .annotate(assignee_name=F("assignee__username"), active_total=Window(Count("pk")))
        .order_by("severity", "created_at", "pk")[:ACTIVE_SHOWN]
    )
    active_total = active[0].active_total if active else 0  # type: ignore[attr-defined]
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
        # Ordered like Product (by name). A prefetch would build a queryset per row.
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
        active=active,
        active_total=active_total,
        resolved=resolved,
        last_updates=last_updates,
        new_since=now - NEW_FOR,
    )


def active_row_inputs(incident: Incident) -> tuple[object, ...]:
    """Everything an active row shows: its cached HTML is reused while these hold.
    ``updated_at`` alone moves with the incident's own fields; the rest come from
    other tables (cases, products, published updates) or the clock."""
    return (
        incident.pk,
        incident.updated_at,
        incident.key,
        incident.summary,
        incident.severity,
        incident.status,
        incident.restricted,
        incident.assignee_name,  # type: ignore[attr-defined]
        incident.impact_started_at,
        incident.created_at,
        incident.case_count,  # type: ignore[attr-defined]
        tuple(incident.product_names),  # type: ignore[attr-defined]
        incident.last_update_at,  # type: ignore[attr-defined]
        incident.is_new_severe,  # type: ignore[attr-defined]
    )


def resolved_row_inputs(incident: Incident) -> tuple[object, ...]:
    """Everything a recently resolved row shows."""
    return (
        incident.pk,
        incident.updated_at,
        incident.key,
        incident.summary,
        incident.severity,
        incident.impact_ended_at,
        incident.case_count,  # type: ignore[attr-defined]
    )
