"""Who may see or do what with incidents. Every interface asks here before acting."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Incident, IncidentQuerySet

User = AuthUser | AnonymousUser


def normalize_key(key: str) -> str:
    return key.strip().upper()


def visible_incidents(user: User) -> IncidentQuerySet:
    if not user.has_perm("incidents.view_incident"):
        raise PermissionDenied("You may not view incidents.")
    return Incident.objects.visible_to(user)


def access_incident(user: User, key: str) -> Incident:
    """The incident with this key if the user may see it; 404 otherwise, never a hint."""
    try:
        return visible_incidents(user).get(key=normalize_key(key))
    except Incident.DoesNotExist:
        raise Http404(f"No incident {normalize_key(key)}.") from None


def can_create(user: User) -> bool:
    return user.has_perm("incidents.add_incident")


def can_edit(user: User, incident: Incident) -> bool:
    return user.has_perm("incidents.change_incident")


def can_manage(user: User, incident: Incident) -> bool:
    """Claim, move through the workflow and change severity: incident managers."""
    return user.has_perm("incidents.claim_incident")


def can_add_entry(user: User, incident: Incident) -> bool:
    return user.has_perm("incidents.add_timelineentry")


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)
