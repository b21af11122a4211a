"""Statuspage's scheduled-maintenance JSON: ``/api/v2/scheduled-maintenances.json``,
``…/upcoming.json`` and ``…/active.json``, and the ``scheduled_maintenances`` of
``summary.json`` (``comms.public`` asks ``open_documents`` for them).

Statuspage knows no "cancelled": a maintenance called off shows as ``completed`` with
the update that says it was cancelled, so readers written for Statuspage still parse it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from rest_framework import serializers

from .. import public as status_json
from ..content import site_url
from ..models import Maintenance, MaintenanceStatus
from ..statuspage import (
    StatuspageAffectedComponentSerializer,
    StatuspageComponentSerializer,
    StatuspagePageSerializer,
    statuspage_json,
)
from . import selectors

PUBLIC_STATUS = {
    MaintenanceStatus.SCHEDULED: "scheduled",
    MaintenanceStatus.IN_PROGRESS: "in_progress",
    MaintenanceStatus.COMPLETED: "completed",
    MaintenanceStatus.CANCELLED: "completed",
}
STATUSES = ["scheduled", "in_progress", "verifying", "completed"]


def maintenance_document(maintenance: Maintenance) -> dict[str, Any]:
    """One maintenance as Statuspage shows it (relations prefetched by the selectors)."""
    iso = status_json._iso
    products = list(maintenance.products.all())
    affected = [
        {"code": p.slug, "name": p.name, "old_status": None, "new_status": None} for p in products
    ]
    return {
        "id": maintenance.public_id,
        "name": maintenance.title,
        "status": PUBLIC_STATUS[MaintenanceStatus(maintenance.status)],
        "created_at": iso(maintenance.created_at),
        "updated_at": iso(maintenance.updated_at),
        "monitoring_at": None,
        "resolved_at": iso(maintenance.ended_at),
        "impact": "maintenance",
        "shortlink": site_url(reverse("comms:public_status")) + f"#{maintenance.public_id}",
        "started_at": iso(maintenance.started_at or maintenance.created_at),
        "page_id": "hotline",
        "incident_updates": [
            {
                "id": f"mupd-{update.pk}",
                "status": PUBLIC_STATUS[MaintenanceStatus(update.status)],
                "body": update.body,
                "incident_id": maintenance.public_id,
                "created_at": iso(update.created_at),
                "updated_at": iso(update.created_at),
                "display_at": iso(update.created_at),
                "affected_components": affected,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for update in maintenance.updates.all()
        ],
        "components": [
            status_json._component(p.component, n)
            for n, p in enumerate(products, 1)
            if hasattr(p, "component")
        ],
        "scheduled_for": iso(maintenance.starts_at),
        "scheduled_until": iso(maintenance.ends_at),
    }


def open_documents() -> list[dict[str, Any]]:
    """summary.json's ``scheduled_maintenances``: the running and the upcoming ones."""
    return [maintenance_document(m) for m in selectors.open_maintenances()]


def _document(request: HttpRequest, rows: Iterable[Maintenance]) -> JsonResponse:
    maintenances = list(rows)
    latest = max((m.updated_at for m in maintenances), default=None)
    return JsonResponse(
        {
            "page": status_json._page(request, latest),
            "scheduled_maintenances": [maintenance_document(m) for m in maintenances],
        }
    )


# The documents, for the schema ---------------------------------------------------------


class StatuspageMaintenanceUpdateSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUSES)
    body = serializers.CharField(allow_blank=True)
    incident_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    display_at = serializers.DateTimeField()
    affected_components = StatuspageAffectedComponentSerializer(many=True)
    deliver_notifications = serializers.BooleanField()
    custom_tweet = serializers.CharField(allow_null=True)
    tweet_id = serializers.CharField(allow_null=True)


class StatuspageScheduledMaintenanceSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(
        choices=STATUSES, help_text="A cancelled maintenance shows as completed."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    monitoring_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    impact = serializers.ChoiceField(choices=["maintenance"])
    shortlink = serializers.URLField()
    started_at = serializers.DateTimeField()
    page_id = serializers.CharField()
    incident_updates = StatuspageMaintenanceUpdateSerializer(many=True)
    components = StatuspageComponentSerializer(many=True)
    scheduled_for = serializers.DateTimeField()
    scheduled_until = serializers.DateTimeField()


class StatuspageScheduledMaintenancesDocumentSerializer(serializers.Serializer):
    page = StatuspagePageSerializer()
    scheduled_maintenances = StatuspageScheduledMaintenanceSerializer(many=True)


@statuspage_json(
    StatuspageScheduledMaintenancesDocumentSerializer,
    summary="The 50 most recent scheduled maintenances, in any status",
)
def api_all(request: HttpRequest) -> JsonResponse:
    return _document(request, selectors.recent())


@statuspage_json(
    StatuspageScheduledMaintenancesDocumentSerializer,
    summary="Scheduled maintenances still to come",
)
def api_upcoming(request: HttpRequest) -> JsonResponse:
    return _document(request, selectors.upcoming())


@statuspage_json(
    StatuspageScheduledMaintenancesDocumentSerializer,
    summary="Scheduled maintenances in progress",
)
def api_active(request: HttpRequest) -> JsonResponse:
    return _document(request, selectors.active())
