"""Receiving alerts, de-duplicating them into groups and incidents, and managing
integrations. Incidents are created and changed only through ``incidents.actions``, by
the "alerts" system user, so the on-call subscribers page for severity 1-2 as for any
incident.

Resolve flow: when the last firing group of an incident the alerts opened resolves, the
impact end is recorded and a note asks the incident manager to resolve. We never resolve
an incident ourselves, claimed or not: an unclaimed incident whose alerts cleared may
still need a human to confirm the impact is over (flapping alerts, partial recovery).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from incidents import actions as incident_actions
from incidents.models import OPEN_STATUSES, EntryKind, Incident, Product, Service

from .formats import ACKNOWLEDGE, RESOLVE, TRIGGER, Event
from .models import Alert, AlertGroup, AlertOutcome, GroupState, Integration

# A lost race on the open-group index is retried: the second try finds the winner's group.
CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class Outcome:
    outcome: str
    dedup_key: str
    incident: Incident | None = None


def bot_user() -> User:
    """The system user alerts act as: inactive, so nobody signs in with it."""
    user, _ = User.objects.get_or_create(
        username=settings.ALERTS_BOT_USERNAME,
        defaults={"is_active": False, "first_name": "Alerts"},
    )
    return user


def bounded_payload(raw: bytes | str) -> tuple[str, bool]:
    """The payload as stored: at most ALERTS_PAYLOAD_MAX_CHARS, so a storm of huge
    bodies cannot fill the database."""
    body = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    limit = settings.ALERTS_PAYLOAD_MAX_CHARS
    if len(body) <= limit:
        return body, False
    return body[:limit], True


def _alert(
    integration: Integration,
    fmt: str,
    raw: bytes | str,
    outcome: str,
    *,
    group: AlertGroup | None = None,
    reason: str = "",
) -> Alert:
    payload, truncated = bounded_payload(raw)
    return Alert.objects.create(
        integration=integration,
        group=group,
        format=fmt,
        outcome=outcome,
        reason=reason[:500],
        payload=payload,
        truncated=truncated,
    )


def reject(integration: Integration, fmt: str, raw: bytes | str, errors: list[str]) -> Alert:
    """Keep a malformed payload in the integration's rejected list."""
    return _alert(integration, fmt, raw, AlertOutcome.REJECTED, reason="; ".join(errors))


def receive(
    integration: Integration, fmt: str, raw: bytes | str, events: list[Event]
) -> list[Outcome]:
    """Apply the parsed events of one delivery, each in its own transaction."""
    if integration.paused:
        # Accepted, so the tool does not retry forever, but recorded as ignored:
        # the admin sees what arrived while paused.
        _alert(integration, fmt, raw, AlertOutcome.IGNORED, reason="The integration is paused.")
        return [Outcome(AlertOutcome.IGNORED, event.dedup_key) for event in events]
    return [handle_event(integration, fmt, raw, event) for event in events]


def handle_event(integration: Integration, fmt: str, raw: bytes | str, event: Event) -> Outcome:
    for attempt in range(CREATE_ATTEMPTS):
        try:
            return _handle_event(integration, fmt, raw, event)
        except IntegrityError:
            # Another delivery opened the group for this key between our look and our
            # insert; its transaction has committed, so the next look finds it.
            if attempt == CREATE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _handle_event(integration: Integration, fmt: str, raw: bytes | str, event: Event) -> Outcome:
    now = timezone.now()
    group = (
        AlertGroup.objects.select_for_update(of=("self",))
        .select_related("incident")
        .filter(integration=integration, dedup_key=event.dedup_key, state=GroupState.FIRING)
        .first()
    )
    if (
        group is not None
        and group.incident is not None
        and group.incident.status not in OPEN_STATUSES
    ):
        # People resolved the incident while the alert still fired: close the stale
        # group so this alert opens a fresh incident rather than hiding in a closed one.
        group.state = GroupState.RESOLVED
        group.resolved_at = now
        group.save(update_fields=["state", "resolved_at"])
        group = None

    if event.action == TRIGGER:
        if group is None:
            return _open_group(integration, fmt, raw, event, now)
        AlertGroup.objects.filter(pk=group.pk).update(
            alert_count=F("alert_count") + 1, last_seen_at=now
        )
        _alert(integration, fmt, raw, AlertOutcome.DEDUPLICATED, group=group)
        _escalate(group, integration.severity_for(event.severity), event)
        return Outcome(AlertOutcome.DEDUPLICATED, event.dedup_key, group.incident)

    if group is None:
        _alert(
            integration,
            fmt,
            raw,
            AlertOutcome.IGNORED,
            reason=f"No open alert group has the key {event.dedup_key!r}.",
        )
        return Outcome(AlertOutcome.IGNORED, event.dedup_key)

    if event.action == ACKNOWLEDGE:
        AlertGroup.objects.filter(pk=group.pk).update(
            alert_count=F("alert_count") + 1, last_seen_at=now, acknowledged_at=now
        )
        _alert(integration, fmt, raw, AlertOutcome.ACKNOWLEDGED, group=group)
        return Outcome(AlertOutcome.ACKNOWLEDGED, event.dedup_key, group.incident)

    assert event.action == RESOLVE
    AlertGroup.objects.filter(pk=group.pk).update(
        alert_count=F("alert_count") + 1,
        last_seen_at=now,
        state=GroupState.RESOLVED,
        resolved_at=now,
    )
    _alert(integration, fmt, raw, AlertOutcome.RESOLVED, group=group)
    if group.incident is not None:
        _after_group_resolved(group.incident, now)
    return Outcome(AlertOutcome.RESOLVED, event.dedup_key, group.incident)


def _open_group(
    integration: Integration, fmt: str, raw: bytes | str, event: Event, now: Any
) -> Outcome:
    severity = integration.severity_for(event.severity)
    summary = event.summary or event.dedup_key[:200]
    # The group row goes in first, inside a savepoint: of concurrent deliveries of a new
    # key only one passes the unique index (PostgreSQL makes the others wait for it and
    # then fail), so only one creates an incident.
    with transaction.atomic():
        group = AlertGroup.objects.create(
            integration=integration,
            dedup_key=event.dedup_key,
            summary=summary,
            severity=severity,
            first_seen_at=now,
            last_seen_at=now,
        )
    reopened = (
        AlertGroup.objects.filter(
            integration=integration,
            dedup_key=event.dedup_key,
            incident__status__in=OPEN_STATUSES,
        )
        .exclude(pk=group.pk)
        .select_related("incident")
        .first()
    )
    if reopened is not None and reopened.incident is not None:
        # The alert fires again while its incident is still open (a flapping check):
        # same incident, and the impact is not over after all.
        incident = reopened.incident
        if incident.impact_ended_at is not None and incident.created_by_id == bot_user().pk:
            incident = incident_actions.update_incident(
                incident, by=bot_user(), impact_ended_at=None
            )
        group.incident = incident
        group.save(update_fields=["incident"])
        _alert(integration, fmt, raw, AlertOutcome.DEDUPLICATED, group=group)
        return Outcome(AlertOutcome.DEDUPLICATED, event.dedup_key, incident)
    lines = [event.description or summary]
    if event.source:
        lines.append(f"Source: {event.source}")
    lines.append(f"Opened by the {integration.name} integration (key {event.dedup_key}).")
    incident = incident_actions.create_incident(
        by=bot_user(),
        summary=summary,
        description="\n\n".join(lines),
        severity=severity,
        faulty_service=integration.service,
        affected_products=list(integration.affected_products.all()),
        detected_at=now,
    )
    group.incident = incident
    group.save(update_fields=["incident"])
    _alert(integration, fmt, raw, AlertOutcome.CREATED, group=group)
    return Outcome(AlertOutcome.CREATED, event.dedup_key, incident)


def _escalate(group: AlertGroup, severity: int, event: Event) -> None:
    """A repeat alert that is worse than the incident raises its severity (and so pages
    on-call when it reaches 1-2); a milder one never lowers what people decided."""
    incident = group.incident
    if incident is None or severity >= incident.severity:
        return
    incident_actions.change_severity(
        incident,
        severity=severity,
        by=bot_user(),
        reason=f"Alert {event.dedup_key!r} now reports {event.severity}.",
    )
    AlertGroup.objects.filter(pk=group.pk).update(severity=severity)


def _after_group_resolved(incident: Incident, now: Any) -> None:
    bot = bot_user()
    if incident.created_by_id != bot.pk:
        # A person logged this incident: the alerts only inform, people decide.
        return
    if AlertGroup.objects.filter(incident=incident, state=GroupState.FIRING).exists():
        return
    current = Incident.objects.get(pk=incident.pk)
    if current.status not in OPEN_STATUSES:
        return
    if current.impact_ended_at is None:
        incident_actions.update_incident(current, by=bot, impact_ended_at=now)
    who = current.assignee.get_username() if current.assignee else "The incident manager"
    incident_actions.add_timeline_entry(
        current,
        kind=EntryKind.NOTE,
        by=bot,
        text=(
            f"All alerts of {current.key} are resolved; the impact end is recorded. "
            f"{who}: resolve the incident once you have confirmed the impact is over."
        ),
    )


# Managing integrations ------------------------------------------------------------------


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


def send_test_alert(integration: Integration, *, by: User) -> Outcome:
    """What the admin page's "Send a test alert" does: a generic alert through the same
    path as real ones, so the admin sees the incident and page it makes."""
    body = {
        "title": f"Test alert from {integration.name}",
        "dedup_key": f"test-{timezone.now():%Y%m%d%H%M%S}",
        "severity": "info",
        "description": f"Sent by {by.get_username()} from the integrations page.",
        "source": "hotline",
    }
    from .formats import generic

    raw = json.dumps(body)
    outcomes = receive(integration, generic.NAME, raw, generic.parse(body))
    return outcomes[0]


def prune(older_than: Any) -> int:
    """Delete received payloads older than the retention; groups and incidents stay."""
    deleted, _ = Alert.objects.filter(received_at__lt=older_than).delete()
    return deleted
