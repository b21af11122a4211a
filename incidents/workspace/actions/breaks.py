"""Fatigue (HANDBOOK §9): breaks restart a responder's clock; hand-overs are in roles."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from incidents.actions import _name, _say, _touch
from incidents.models import EntryKind, Incident, TimelineEntry


@transaction.atomic
def record_break(incident: Incident, *, person: User, by: User, note: str = "") -> TimelineEntry:
    """Someone steps away to rest; their fatigue clock starts again from here."""
    entry = _say(
        incident,
        EntryKind.BREAK,
        by,
        "break.taken" if person.pk == by.pk else "break.sent",
        who=_name(by),
        note=note.strip(),
        person=_name(person),
        person_id=person.pk,
    )
    _touch(incident)
    return entry
