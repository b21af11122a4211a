"""Changes reported by CI/CD (HANDBOOK §4) and what responders do with them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import entry_texts
from incidents.actions import ActionRefused, add_timeline_entry, check_time
from incidents.models import EntryKind, Incident, IncidentChange, Service, Theory, TimelineEntry
from incidents.workspace.models import ChangeToken, ServiceChange, ServiceChangeKind


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def issue_change_token(service: Service, *, label: str = "") -> tuple[ChangeToken, str]:
    """A new token for one service's pipeline. The caller shows the token once: only
    its digest is kept, so a leaked database does not leak working tokens."""
    token = secrets.token_urlsafe(32)
    return ChangeToken.objects.create(service=service, label=label, digest=_digest(token)), token


def change_token_for(token: str) -> ChangeToken | None:
    """The token row a CI/CD request presents, its last use noted; None if unknown."""
    found = ChangeToken.objects.select_related("service").filter(digest=_digest(token)).first()
    if found is not None:
        ChangeToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    return found


@transaction.atomic
def report_service_change(
    service: Service,
    *,
    summary: str,
    happened_at: datetime | None = None,
    kind: str = ServiceChangeKind.DEPLOY,
    author: str = "",
    url: str = "",
    external_id: str = "",
    details: dict[str, Any] | None = None,
) -> tuple[ServiceChange, bool]:
    """Store a change CI/CD reports. A report repeated with the same ``external_id`` is
    stored once (CI retries); returns the change and whether it is new."""
    summary = summary.strip()
    if not summary:
        raise ActionRefused(_("Say what changed."), field="summary")
    if kind not in ServiceChangeKind.values:
        raise ActionRefused(
            _("Choose a kind: %(choices)s.") % {"choices": ", ".join(ServiceChangeKind.values)},
            field="kind",
        )
    happened_at = happened_at or timezone.now()
    check_time(happened_at, field="happened_at")
    fields = {
        "summary": summary,
        "happened_at": happened_at,
        "kind": kind,
        "author": author.strip(),
        "url": url.strip(),
        "details": details or {},
    }
    external_id = external_id.strip()
    if external_id:
        return ServiceChange.objects.get_or_create(
            service=service, external_id=external_id, defaults=fields
        )
    return ServiceChange.objects.create(service=service, **fields), True


def _change_facts(text_id: str, change: ServiceChange) -> dict[str, Any]:
    when = timezone.localtime(change.happened_at, UTC)
    return entry_texts.facts(
        text_id,
        change=change.pk,
        change_kind=change.kind,
        service=change.service.name,
        when=f"{when:%Y-%m-%d %H:%M}",
        summary=change.summary,
    )


@transaction.atomic
def suspect_service_change(incident: Incident, change: ServiceChange, *, by: User) -> TimelineEntry:
    """Record a reported change as a theory: "this change caused the incident"."""
    existing = Theory.objects.filter(incident=incident, suspects=change).select_related("entry")
    if existing:
        return existing[0].entry
    data = _change_facts("change.suspected", change)
    entry = add_timeline_entry(
        incident, kind=EntryKind.THEORY, text=entry_texts.english(data), by=by, data=data
    )
    Theory.objects.filter(entry=entry).update(suspects=change)
    return entry


@transaction.atomic
def roll_back_service_change(
    incident: Incident, change: ServiceChange, *, by: User, how: str = ""
) -> TimelineEntry:
    """Log the rollback of a reported change in the changes table."""
    data = _change_facts("change.rolled_back", change)
    entry = add_timeline_entry(
        incident,
        kind=EntryKind.CHANGE,
        text=entry_texts.english(data),
        data=data,
        how=how or "Rollback",
        why="Suspected cause of the incident.",
        undo=f"Redeploy: {change.summary}",
        by=by,
    )
    IncidentChange.objects.filter(entry=entry).update(rolls_back=change)
    return entry
