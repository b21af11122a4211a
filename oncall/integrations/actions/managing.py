"""Managing integrations: create one, rotate its key, pause it, send a test alert, and
prune old payloads."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from incidents.models import Product, Service

from ..models import Alert, Integration
from .processing import process_pending
from .receiving import receive


@transaction.atomic
def create_integration(
    *,
    by: User,
    name: str,
    service: Service,
    default_severity: int = 3,
    affected_products: Iterable[Product] = (),
    severity_map: dict[str, int] | None = None,
) -> tuple[Integration, str]:
    """Create an integration; returns it with its key, which is shown this once."""
    integration = Integration(
        name=name.strip(),
        service=service,
        default_severity=default_severity,
        created_by=by,
    )
    if severity_map is not None:
        integration.severity_map = _clean_map(severity_map)
    key = integration.set_key()
    integration.save()
    integration.affected_products.set(affected_products)
    return integration, key


def _clean_map(severity_map: dict[str, int]) -> dict[str, int]:
    return {str(label).strip().lower(): int(value) for label, value in severity_map.items()}


@transaction.atomic
def rotate_key(integration: Integration, *, by: User) -> str:
    """A new key; the old one stops working at once."""
    current = Integration.objects.select_for_update().get(pk=integration.pk)
    key = current.set_key()
    current.key_rotated_at = timezone.now()
    current.save(update_fields=["key_hash", "key_hint", "key_rotated_at"])
    integration.key_hash, integration.key_hint = current.key_hash, current.key_hint
    integration.key_rotated_at = current.key_rotated_at
    return key


@transaction.atomic
def set_paused(integration: Integration, *, paused: bool, by: User) -> Integration:
    Integration.objects.filter(pk=integration.pk).update(paused=paused)
    integration.paused = paused
    return integration


def send_test_alert(integration: Integration, *, by: User) -> Alert:
    """What the admin page's "Send a test alert" does: a generic alert through the same
    path as real ones, applied at once (with whatever else of this integration waits),
    so the admin sees the incident and page it makes. Returns the alert as applied."""
    from ..formats import generic

    body = {
        "title": gettext("Test alert from %(name)s") % {"name": integration.name},
        "dedup_key": f"test-{timezone.now():%Y%m%d%H%M%S}",
        "severity": "info",
        "description": gettext("Sent by %(name)s from the integrations page.")
        % {"name": by.get_username()},
        "source": "hotline",
    }
    [event] = generic.parse(body)
    receive(integration.key_hash, generic.NAME, json.dumps(body), [event])
    process_pending(integration_id=integration.pk)
    return Alert.objects.filter(integration=integration, dedup_key=event.dedup_key).latest("id")


def prune(older_than: datetime) -> int:
    """Delete received payloads older than the retention; groups and incidents stay."""
    deleted, _ = Alert.objects.filter(received_at__lt=older_than).delete()
    return deleted
