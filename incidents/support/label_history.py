"""Reads of the label history (``LabelChange``): every label put on, moved or taken off,
for one support case or for one incident, in a constant number of queries."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from incidents import access
from incidents.models import Incident
from incidents.support.models import LabelChange, SupportCase


def for_case(case: SupportCase) -> QuerySet[LabelChange]:
    """The case's changes, newest first."""
    return _shown(LabelChange.objects.filter(case=case))


def for_incident(incident: Incident) -> QuerySet[LabelChange]:
    """Every case labelled with the incident, moved to or from it, or taken off it."""
    return _shown(LabelChange.objects.filter(Q(to_incident=incident) | Q(from_incident=incident)))


def _shown(changes: QuerySet[LabelChange]) -> QuerySet[LabelChange]:
    return changes.select_related("case", "by", "from_incident", "to_incident").only(
        "at",
        "case__reference",
        "by__username",
        "by__first_name",
        "by__last_name",
        "from_incident__key",
        "to_incident__key",
    )


def visible_incident_ids(
    user: access.User, changes: Iterable[LabelChange], *also: int | None
) -> set[int]:
    """Which of the incidents named may this person see: one query. The others are
    shown as "a restricted incident", never by key."""
    ids = {pk for change in changes for pk in (change.from_incident_id, change.to_incident_id)}
    ids |= set(also)
    ids.discard(None)
    if not ids:
        return set()
    return set(access.visible_incidents(user).filter(pk__in=ids).values_list("pk", flat=True))
