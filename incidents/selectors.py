"""Reads about incidents that views, the API and other apps share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from incidents.models import (
    OPEN_STATUSES,
    Incident,
    Role,
    RoleAssignment,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


@dataclass(frozen=True)
class RoleHolder:
    role: str
    person: User


def current_roles(incident: Incident) -> list[RoleHolder]:
    """Who holds which role now, the incident manager first (the chat topic's order).

    The assignee leads the list; supporting incident managers follow, then the other
    roles in the order of ``Role``. One query.
    """
    assignments = list(
        RoleAssignment.objects.current()
        .filter(incident=incident)
        .select_related("person")
        .in_order()
    )
    assignments.sort(
        key=lambda held: (
            not (held.role == Role.INCIDENT_MANAGER and held.person_id == incident.assignee_id)
        )
    )
    return [RoleHolder(role=held.label, person=held.person) for held in assignments]


def role_history(incident: Incident) -> list[RoleAssignment]:
    """Every role anyone held on the incident, current ones included, oldest first."""
    return list(
        incident.roles.select_related("person", "assigned_by", "ended_by").order_by(
            "started_at", "id"
        )
    )


def managing(viewer: User | AnonymousUser) -> dict[int, list[Incident]]:
    """For each person managing an open incident the viewer may see: those incidents.

    One query whatever the number of people on a page; it feeds the key shown beside
    each name (the handbook's chat status). Restricted incidents the viewer may not see
    never show, so the key gives nothing away.
    """
    rows = (
        RoleAssignment.objects.current()
        .filter(
            role=Role.INCIDENT_MANAGER,
            incident__status__in=OPEN_STATUSES,
            incident__in=Incident.objects.visible_to(viewer),
        )
        .select_related("incident")
        .order_by("incident__number")
    )
    found: dict[int, list[Incident]] = {}
    for row in rows:
        found.setdefault(row.person_id, []).append(row.incident)
    return found
