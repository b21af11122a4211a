"""Reads about incidents that views, the API and other apps share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .models import Incident


@dataclass(frozen=True)
class RoleHolder:
    role: str
    person: User


def current_roles(incident: Incident) -> list[RoleHolder]:
    """Who holds which role now, the incident manager first (the chat topic's order)."""
    if incident.assignee is None:
        return []
    return [RoleHolder(role="Incident manager", person=incident.assignee)]
