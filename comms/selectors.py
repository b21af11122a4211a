"""Reads the status pages, feeds, panels and API share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import DateTimeField, Max, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from incidents.models import Incident, IncidentQuerySet, Product

from .models import (
    Audience,
    Communication,
    Component,
    ComponentStatus,
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
