"""Reads the status pages, feeds, panels and API share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    DateTimeField,
    Exists,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from incidents.follow_ups import NextStep
from incidents.models import (
    CLOSED_STATUSES,
    Incident,
    IncidentQuerySet,
    Involvement,
    Product,
    RoleAssignment,
)

from .models import (
    Audience,
    Communication,
    Component,
    ComponentStatus,
    Kind,
    PageStatus,
    State,
    StatusPageIncident,
)

PUBLIC_HISTORY = timedelta(days=90)

# Worst first: the page's overall indicator is its worst component.
SEVERITY_ORDER = [
    ComponentStatus.MAJOR,
    ComponentStatus.PARTIAL,
    ComponentStatus.DEGRADED,
    ComponentStatus.MAINTENANCE,
    ComponentStatus.OPERATIONAL,
]
INDICATORS = {
    ComponentStatus.MAJOR: ("critical", "Major System Outage"),
    ComponentStatus.PARTIAL: ("major", "Partial System Outage"),
    ComponentStatus.DEGRADED: ("minor", "Minor Service Outage"),
    ComponentStatus.MAINTENANCE: ("maintenance", "Service Under Maintenance"),
    ComponentStatus.OPERATIONAL: ("none", "All Systems Operational"),
}


def support_case_count(incident: Incident) -> int:
    """Support cases labelled with the incident's key (HANDBOOK §1, §10)."""
    return incident.support_cases.count()


def published_updates(audience: str) -> Any:
    return Prefetch(
        "updates",
        queryset=Communication.objects.filter(state=State.PUBLISHED, audience=audience).order_by(
            "-published_at", "-id"
        ),
        to_attr="published",
    )


def public_components() -> list[Component]:
    """Every product shown on the status page; products new since the last read get an
    operational status row, all in one insert."""
    products = Product.objects.filter(shown_on_status_page=True)
    missing = products.filter(component__isnull=True)
    if missing.exists():
        Component.objects.bulk_create(
            [Component(product=product) for product in missing], ignore_conflicts=True
        )
    return list(
        Component.objects.filter(product__in=products)
        .select_related("product")
        .order_by("product__name")
    )


def overall_status(components: list[Component]) -> tuple[str, str]:
    """Statuspage's (indicator, description) from the worst component status."""
    statuses = {component.status for component in components}
    for status in SEVERITY_ORDER:
        if status in statuses:
            return INDICATORS[status]
    return INDICATORS[ComponentStatus.OPERATIONAL]


def worst_status(statuses: Iterable[str]) -> str | None:
    """The worst of these component statuses, or None when there are none."""
    present = set(statuses)
    return next((status for status in SEVERITY_ORDER if status in present), None)


def open_incident_statuses(product_ids: Iterable[int]) -> dict[int, list[str]]:
    """For each product, what each unresolved public incident on it says of it now: the
    products' status of that incident's newest published external update that sets one.
    A product's status is the worst of these, never just the latest update's."""
    current = (
        Communication.objects.filter(page_incident=OuterRef("pk"), state=State.PUBLISHED)
        .exclude(component_status="")
        .order_by("-published_at", "-id")
        .values("component_status")[:1]
    )
    rows = (
        StatusPageIncident.objects.filter(
            audience=Audience.EXTERNAL,
            incident__restricted=False,
            products__in=list(product_ids),
        )
        .exclude(status=PageStatus.RESOLVED)
        .annotate(current=Subquery(current))
        # The product of the join the filter made: one row per page and product asked.
        .values_list("products", "current")
    )
    statuses: dict[int, list[str]] = defaultdict(list)
    for product_id, status in rows:
        if status:
            statuses[product_id].append(status)
    return dict(statuses)


def public_incidents(*, unresolved_only: bool = False) -> QuerySet[StatusPageIncident]:
    """External incidents of the last 90 days; never a restricted incident's."""
    since = timezone.now() - PUBLIC_HISTORY
    incidents = StatusPageIncident.objects.filter(
        audience=Audience.EXTERNAL, incident__restricted=False, updated_at__gte=since
    )
    if unresolved_only:
        incidents = incidents.exclude(status=PageStatus.RESOLVED)
    return incidents.prefetch_related("products", published_updates(Audience.EXTERNAL)).order_by(
        "-created_at", "-id"
    )


def internal_incidents(visible: IncidentQuerySet) -> QuerySet[StatusPageIncident]:
    """Internal status-page incidents of open incidents the viewer may see."""
    return (
        StatusPageIncident.objects.filter(
            audience=Audience.INTERNAL, incident__in=visible.open().values("pk")
        )
        .select_related("incident")
        .prefetch_related(published_updates(Audience.INTERNAL))
        .order_by("incident__severity", "-created_at")
    )


@dataclass(frozen=True)
class NextUpdate:
    at: datetime
    where: str

    @property
    def overdue(self) -> bool:
        return self.at < timezone.now()


def next_update_due(incident: Incident) -> NextUpdate | None:
    """The promise of the latest published update, while the incident is open."""
    if not incident.is_open:
        return None
    latest = (
        incident.communications.filter(state=State.PUBLISHED)
        .order_by("-published_at", "-id")
        .first()
    )
    if latest is None or latest.next_update_at is None:
        return None
    return NextUpdate(at=latest.next_update_at, where=latest.next_update)


def incident_communications(incident: Incident) -> QuerySet[Communication]:
    return incident.communications.select_related(
        "author", "reviewer", "review_requested_from", "published_by"
    ).order_by("-created_at", "-id")


def last_published_update() -> Subquery:
    """When the incident (``OuterRef("pk")``) last had an update published: the support
    dashboard's "last public update" column, registered with ``incidents.support.dashboard``,
    which reads it as a column of its own query."""
    latest = (
        Communication.objects.filter(incident_id=OuterRef("pk"), state=State.PUBLISHED)
        .order_by()
        .values("incident_id")
        .annotate(latest=Max("published_at"))
        .values("latest")
    )
    return Subquery(latest, output_field=DateTimeField())


def involved_people(incident: Incident) -> QuerySet[User]:
    """Who may receive a restricted incident's communications: exactly the people the
    record counts as involved (its creator, its assignee, anyone who held one of its roles,
    anyone in ``Involvement``), and those allowed to see every restricted incident (the
    security group, holding ``view_restricted_incident`` through a group or directly).

    Superusers see everything too, but only by a flag: they are not the security group,
    so a restricted incident is not mailed to every administrator."""
    security = User.objects.with_perm(
        "incidents.view_restricted_incident", include_superusers=False
    )
    held_a_role = Exists(RoleAssignment.objects.filter(incident=incident, person=OuterRef("pk")))
    involved = Exists(Involvement.objects.filter(incident=incident, person=OuterRef("pk")))
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(pk=incident.created_by_id)
            | Q(pk=incident.assignee_id)
            | held_a_role
            | involved
            | Q(pk__in=security.values("pk"))
        )
        .order_by("pk")
    )


def open_public_page(incident: Incident) -> StatusPageIncident | None:
    """The incident on the public status page, while the page still says it is ongoing."""
    return (
        StatusPageIncident.objects.filter(incident=incident, audience=Audience.EXTERNAL)
        .exclude(status=PageStatus.RESOLVED)
        .first()
    )


def pending_final_update(incident: Incident) -> Communication | None:
    """The external final update being drafted or reviewed, if there is one."""
    return (
        Communication.objects.filter(incident=incident, audience=Audience.EXTERNAL, kind=Kind.FINAL)
        .exclude(state=State.PUBLISHED)
        .order_by("-created_at", "-id")
        .first()
    )


FINAL_UPDATE_DUE = gettext_lazy(
    "The status page still shows this incident as ongoing — publish the final update."
)


def final_update_steps(incident: Incident, user: User | AnonymousUser) -> list[NextStep]:
    """A resolved incident whose public page still says "ongoing" needs its external
    final update: point at the pre-filled draft (``actions.offer_final_update`` made it
    when the incident was resolved), or at the panel's draft form when there is none.
    Everyone who sees the incident is told; the draft page checks who may publish."""
    if incident.status not in CLOSED_STATUSES or open_public_page(incident) is None:
        return []
    draft = pending_final_update(incident)
    if draft is None:
        url = f"{incident.get_absolute_url()}#communications"
        action = gettext("Draft the final update")
    else:
        url = reverse("comms:communication", args=[draft.pk])
        action = gettext("Publish the final update")
    return [NextStep(kind="final_update", text=str(FINAL_UPDATE_DUE), url=url, action=action)]
