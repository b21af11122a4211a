"""PagerDuty change events (``POST /v2/change/enqueue``): a deployment or change a tool
reports becomes a change of the integration's service, shown near an incident's impact
start like the changes CI/CD reports (``incidents.workspace``). Applied in the request:
one row, no incident, nobody paged, so no worker is needed."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from incidents.workspace.actions import report_service_change
from incidents.workspace.models import ServiceChangeKind

from ..formats import pagerduty
from ..formats.pagerduty import ChangeEvent
from ..models import Alert, AlertOutcome, Integration
from .receiving import _bounded_payload as bounded_payload

# The change record's columns (incidents.workspace.models.ServiceChange).
MAX_CHANGE_SUMMARY = 300
MAX_CHANGE_URL = 500
MAX_CHANGE_AUTHOR = 150


@transaction.atomic
def record_change(key_hash: str, raw: str, change: ChangeEvent) -> Alert | None:
    """Record the change for the integration whose key has this hash, and keep the
    delivery in its payloads; None when no integration has the key. A paused
    integration keeps the delivery as ignored and records no change. A time ahead of
    our clock (the sender's clock is ahead) is taken as now."""
    integration = Integration.objects.select_related("service").filter(key_hash=key_hash).first()
    if integration is None:
        return None
    payload, truncated = bounded_payload(raw)
    now = timezone.now()
    alert = Alert(
        integration=integration,
        format=pagerduty.NAME,
        payload=payload,
        truncated=truncated,
        received_at=now,
        processed_at=now,
        action="change",
        event={"summary": change.summary, "source": change.source},
    )
    if integration.paused:
        alert.outcome, alert.reason = AlertOutcome.IGNORED, "The integration is paused."
    else:
        links = [link["href"] for link in change.links if _is_web_link(link["href"])]
        service_change, _ = report_service_change(
            integration.service,
            summary=change.summary[:MAX_CHANGE_SUMMARY],
            happened_at=min(change.happened_at, now) if change.happened_at else now,
            kind=ServiceChangeKind.CHANGE,
            author=change.source[:MAX_CHANGE_AUTHOR],
            url=links[0] if links else "",
            details=change.details,
        )
        alert.outcome = AlertOutcome.CHANGE
        alert.reason = f"Change {service_change.pk} of {integration.service.name}."
    alert.save()
    return alert


def _is_web_link(href: str) -> bool:
    return href.startswith(("https://", "http://")) and len(href) <= MAX_CHANGE_URL
