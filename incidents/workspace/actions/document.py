"""The status document (HANDBOOK §3, §9): timeline edits, changes undone, the verdict on
theories, workstreams."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import entry_texts
from incidents.actions import ActionRefused, _name, _say, _touch, check_time
from incidents.models import (
    HUMAN_KINDS,
    EntryKind,
    Incident,
    IncidentChange,
    Theory,
    TheoryState,
    TimelineEdit,
    TimelineEntry,
)
from incidents.workspace.models import Workstream, WorkstreamState


@transaction.atomic
def edit_timeline_entry(
    entry: TimelineEntry, *, by: User, text: str, occurred_at: datetime | None = None
) -> TimelineEntry:
    """The author corrects an entry; what it said before is kept as an edit."""
    current = TimelineEntry.objects.select_for_update().get(pk=entry.pk)
    if current.kind not in HUMAN_KINDS or current.author_id != by.pk:
        raise ActionRefused(_("Only the author edits an entry."))
    text = text.strip()
    if not text:
        raise ActionRefused(_("Write what happened."), field="text")
    occurred_at = occurred_at or current.occurred_at
    check_time(occurred_at, field="occurred_at")
    if text == current.text and occurred_at == current.occurred_at:
        return current
    TimelineEdit.objects.create(
        entry=current, text=current.text, occurred_at=current.occurred_at, edited_by=by
    )
    current.text = text
    current.occurred_at = occurred_at
    current.edited_at = timezone.now()
    current.save(update_fields=["text", "occurred_at", "edited_at"])
    _touch(current.incident)
    return current


@transaction.atomic
def undo_change(change: IncidentChange, *, by: User) -> IncidentChange:
    """Record that a change was rolled back; the changes table shows it undone."""
    current = IncidentChange.objects.select_for_update().select_related("entry").get(pk=change.pk)
    if current.undone_at is not None:
        return current
    current.undone_at = timezone.now()
    current.undone_by = by
    current.save(update_fields=["undone_at", "undone_by"])
    # The undone change is quoted as its author wrote it, in the words they chose.
    data = entry_texts.facts("change.undone", what=current.entry.text, how=current.undo)
    entry = TimelineEntry.objects.create(
        incident_id=current.incident_id,
        kind=EntryKind.CHANGE,
        text=entry_texts.english(data),
        author=by,
        data=data,
    )
    IncidentChange.objects.create(
        entry=entry, incident_id=current.incident_id, how=current.undo, why="Undoing a change."
    )
    _touch(current.incident)
    return current


@transaction.atomic
def decide_theory(theory: Theory, *, state: str, by: User, note: str = "") -> Theory:
    """Mark a theory confirmed or disproved (or open again), with a timeline entry."""
    if state not in TheoryState.values:
        raise ActionRefused(_("Choose open, confirmed or disproved."), field="state")
    current = Theory.objects.select_for_update().select_related("entry").get(pk=theory.pk)
    if current.state == state:
        return current
    current.state = state
    current.decided_at = None if state == TheoryState.OPEN else timezone.now()
    current.decided_by = None if state == TheoryState.OPEN else by
    current.save(update_fields=["state", "decided_at", "decided_by"])
    _say(
        current.incident,
        EntryKind.DECISION,
        by,
        "theory.decided",
        theory=current.pk,
        state=state,
        what=current.entry.text,
        note=note.strip(),
    )
    _touch(current.incident)
    return current


WORKSTREAM_FIELDS = ("name", "goal", "lead", "state")


@transaction.atomic
def save_workstream(
    incident: Incident, *, by: User, workstream: Workstream | None = None, **fields: Any
) -> Workstream:
    """Start a workstream, or change its name, goal, lead or state."""
    unknown = set(fields) - set(WORKSTREAM_FIELDS)
    if unknown:
        raise ActionRefused(
            _("%(fields)s is not part of a workstream.") % {"fields": ", ".join(sorted(unknown))}
        )
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            raise ActionRefused(_("Name the workstream."), field="name")
    if fields.get("state", WorkstreamState.ACTIVE) not in WorkstreamState.values:
        raise ActionRefused(_("Choose active, paused or done."), field="state")
    current_incident = Incident.objects.select_for_update().get(pk=incident.pk)
    name = fields.get("name") or (workstream.name if workstream else "")
    clash = current_incident.workstreams.filter(name=name)
    if workstream is not None:
        clash = clash.exclude(pk=workstream.pk)
    if clash.exists():
        raise ActionRefused(
            _("There is already a workstream named %(name)s.") % {"name": name}, field="name"
        )
    if workstream is None:
        if "name" not in fields:
            raise ActionRefused(_("Name the workstream."), field="name")
        saved = Workstream.objects.create(incident=current_incident, created_by=by, **fields)
        _say(
            current_incident,
            EntryKind.WORKSTREAM,
            by,
            "workstream.started",
            workstream=saved.pk,
            who=_name(by),
            name=saved.name,
            lead=_name(saved.lead) if saved.lead else None,
        )
    else:
        saved = Workstream.objects.select_for_update().get(pk=workstream.pk)
        changed = [name for name, value in fields.items() if getattr(saved, name) != value]
        if not changed:
            return saved
        for name_ in changed:
            setattr(saved, name_, fields[name_])
        saved.save(update_fields=changed)
        _say(
            current_incident,
            EntryKind.WORKSTREAM,
            by,
            "workstream.updated",
            workstream=saved.pk,
            fields=changed,
            who=_name(by),
            name=saved.name,
            state=saved.state,
            lead=_name(saved.lead) if saved.lead else None,
        )
    _touch(current_incident)
    return saved
