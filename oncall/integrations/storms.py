"""Reading alert storms for the integration page and the incident's Alerts panel; the
rule that folds them is ``actions.storms``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from incidents.models import Incident

from .models import AlertGroup, AlertStorm, Integration


def rate(integration: Integration, now: datetime | None = None) -> int:
    """The new alert groups in the integration's storm window up to now: what the
    threshold is compared with."""
    now = now or timezone.now()
    since = now - timedelta(minutes=integration.storm_window)
    return AlertGroup.objects.filter(
        integration=integration, maintenance__isnull=True, first_seen_at__gt=since
    ).count()


def latest(integration: Integration) -> AlertStorm | None:
    """The storm folding now, else the last one."""
    return (
        AlertStorm.objects.filter(integration=integration)
        .select_related("incident")
        .order_by(F("ended_at").asc(nulls_first=True), "-started_at", "-id")
        .first()
    )


def of_incident(incident: Incident) -> AlertStorm | None:
    return AlertStorm.objects.filter(incident=incident).select_related("integration").first()
