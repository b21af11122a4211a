"""A demo monitoring integration with a few received payloads (idempotent; run it after
``load_demo``): the integrations page then shows an integration, what it received (an
alert that opened an incident, a repeat, its resolve) and a rejected payload.

The payloads go through the real path (stored pending, then applied), so the incident
they open is like any other. Nothing secret is printed: the key is shown nowhere (the
page shows its last characters only; rotate it there to get a usable one).
"""

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction

from incidents.models import Product, Service
from oncall.integrations import actions
from oncall.integrations.formats import Malformed, alertmanager
from oncall.integrations.models import Integration

NAME = "Prometheus (demo)"
GROUP_KEY = '{}:{alertname="PaymentsLatencyHigh"}'


def _notification(status: str) -> dict[str, Any]:
    """An Alertmanager webhook notification (payload version 4)."""
    labels = {"alertname": "PaymentsLatencyHigh", "severity": "warning", "job": "payments-api"}
    return {
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "hotline",
        "groupLabels": {"alertname": "PaymentsLatencyHigh"},
        "commonLabels": labels,
        "commonAnnotations": {
            "summary": "Payments API p99 latency above 800 ms",
            "description": "p99 latency of POST /charges above 800 ms for 10 minutes.",
        },
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": [
            {
                "status": status,
                "labels": {**labels, "instance": "payments-api-2:9100"},
                "annotations": {"summary": "Payments API p99 latency above 800 ms"},
                "startsAt": "2026-03-02T09:55:00Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-03-02T10:20:00Z",
                "generatorURL": "http://prometheus.example.com:9090/graph",
                "fingerprint": "5f1c2a9e4b7d3c10",
            }
        ],
    }


class Command(BaseCommand):
    help = "Load a demo monitoring integration with a few received payloads (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_DATA:
            self.stdout.write("DEMO_DATA is off: no demo integration loaded.")
            return
        service = Service.objects.filter(slug="payments-api").first()
        by = User.objects.filter(username__in=["admin", "manager"]).order_by("username").first()
        if service is None or by is None:
            self.stdout.write("Run `manage.py load_demo` first: the demo services are missing.")
            return
        if Integration.objects.filter(name=NAME).exists():
            self.stdout.write("Demo integration: already loaded.")
            return
        integration, _ = actions.create_integration(
            by=by,
            name=NAME,
            service=service,
            affected_products=Product.objects.filter(slug="billing"),
        )
        for status in ("firing", "firing", "resolved"):
            body = _notification(status)
            actions.receive(
                integration.key_hash, alertmanager.NAME, json.dumps(body), alertmanager.parse(body)
            )
        malformed = {"version": "4", "status": "firing", "alerts": []}
        try:
            alertmanager.parse(malformed)
        except Malformed as error:
            raw = json.dumps(malformed)
            actions.reject(integration.key_hash, alertmanager.NAME, raw, error.errors)
        actions.process_pending(integration_id=integration.pk)
        _heartbeat_and_maintenance(integration, service, by)
        self.stdout.write(
            f"Demo integration: {integration} with {integration.alerts.count()} received payloads."
        )


def _heartbeat_and_maintenance(integration: Integration, service: Service, by: User) -> None:
    """A daily heartbeat (the nightly job pings; missed after 25 hours) and tomorrow's
    maintenance window of the service, so both show on the integration page."""
    from datetime import timedelta

    from django.utils import timezone

    from oncall.integrations import heartbeats, maintenance

    heartbeats.set_heartbeat(
        integration, by=by, interval=timedelta(days=1), grace=timedelta(hours=1)
    )
    tomorrow = timezone.now().replace(hour=2, minute=0, second=0, microsecond=0)
    tomorrow += timedelta(days=1)
    maintenance.plan_maintenance(
        by=by,
        service=service,
        starts_at=tomorrow,
        ends_at=tomorrow + timedelta(hours=2),
        reason="Database upgrade: the payments database moves to a new version.",
    )
