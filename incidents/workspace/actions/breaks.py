"""Fatigue (HANDBOOK §9): breaks restart a responder's clock; hand-overs are in roles."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from incidents.actions import _name, _record, _touch
from incidents.models import EntryKind, Incident, TimelineEntry


@transaction.atomic
def record_break(incident: Incident, *, person: User, by: User, note: str = "") -> TimelineEntry:
    """Someone steps away to rest; their fatigue clock starts again from here."""
    text = (
        f"{_name(person)} took a break."
        if person.pk == by.pk
        else f"{_name(by)} sent {_name(person)} on a break."
    )
    if note.strip():
        text = f"{text} {note.strip()}"
    entry = _record(incident, EntryKind.BREAK, by, text, person=_name(person), person_id=person.pk)
    _touch(incident)
    return entry
