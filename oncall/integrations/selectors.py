"""Reading integrations and alerts for the pages, the API and the incident panel."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from incidents import access as incident_access
from incidents.models import Incident

from . import access
from .maintenance_models import MaintenanceWindow
from .models import Alert, AlertGroup, AlertOutcome, GroupState, Integration

RECENT_PAYLOADS = 20


def integrations_for(user: access.User) -> QuerySet[Integration]:
    services = access.administered(user)
    integrations = (
        Integration.objects.select_related("service")
        .prefetch_related("affected_products")
        .annotate(
            open_groups=Count("groups", filter=Q(groups__state=GroupState.FIRING), distinct=True),
            last_received_at=Max("alerts__received_at"),
            in_maintenance=Exists(
                MaintenanceWindow.objects.filter(
                    Q(integration=OuterRef("pk")) | Q(service=OuterRef("service"))
                ).active_at(timezone.now())
            ),
        )
    )
    if services is not None:
        integrations = integrations.filter(service__in=services)
    return integrations


def receiving_urls(
    request: HttpRequest, integration: Integration, key: str | None
) -> dict[str, str]:
    """Where tools send. Without the key (it is only known at creation/rotation) the
    URLs show a placeholder ending in the key's last characters."""
    shown = key or f"<key …{integration.key_hint}>"
    return {
        "alertmanager": request.build_absolute_uri(
            reverse("integrations_in:alertmanager", args=["KEY"])
        ).replace("KEY", shown),
        "generic": request.build_absolute_uri(
            reverse("integrations_in:generic", args=["KEY"])
        ).replace("KEY", shown),
        "alertmanager_bearer": request.build_absolute_uri(
            reverse("integrations_in:alertmanager_bearer")
        ),
        "pagerduty": request.build_absolute_uri(reverse("pagerduty_enqueue")),
        "pagerduty_change": request.build_absolute_uri(reverse("pagerduty_change_enqueue")),
        "heartbeat": request.build_absolute_uri(
            reverse("integrations_in:heartbeat", args=["KEY"])
        ).replace("KEY", shown),
    }


def recent(integration: Integration, *, rejected: bool) -> list[Alert]:
    alerts = Alert.objects.filter(integration=integration).select_related("group__incident")
    if rejected:
        alerts = alerts.filter(outcome=AlertOutcome.REJECTED)
    else:
        alerts = alerts.exclude(outcome=AlertOutcome.REJECTED)
    return list(alerts[:RECENT_PAYLOADS])


def hidden_incidents(user: access.User, incidents: Iterable[Incident | None]) -> set[int]:
    """Which of these incidents the user may not see (``incidents.access``): restricted
    ones they are not involved in. Integration admins are not involved by administering
    the integration, so these show as "a restricted incident", never by key, summary or
    link (DESIGN rule 8). One query, none while nothing shown is restricted."""
    restricted = {incident.pk for incident in incidents if incident and incident.restricted}
    if not restricted:
        return set()
    if not incident_access.can_view_incidents(user):
        return restricted
    seen = incident_access.visible_incidents(user).filter(pk__in=restricted)
    return restricted - set(seen.values_list("pk", flat=True))


def groups_of(incident: Incident) -> QuerySet[AlertGroup]:
    """Oldest first; a storm's incident holds thousands, so callers page it."""
    return (
        AlertGroup.objects.filter(incident=incident)
        .select_related("integration")
        .order_by("first_seen_at", "id")
    )


def payloads_of(incident: Incident) -> list[Alert]:
    return list(
        Alert.objects.filter(group__incident=incident)
        .select_related("group")
        .order_by("-received_at", "-id")[:RECENT_PAYLOADS]
    )
