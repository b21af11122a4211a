"""Who may draft, review and publish communications. Every interface asks here first."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from incidents.access import access_incident
from incidents.models import Incident
from incidents.selectors import current_roles

from .models import Communication

User = AuthUser | AnonymousUser

# Role labels start with these ("Communications manager (external)", ...).
PUBLISHING_ROLES = ("incident manager", "communications manager")


def holds_publishing_role(user: User, incident: Incident) -> bool:
    return any(
        holder.person.pk == user.pk and holder.role.lower().startswith(PUBLISHING_ROLES)
        for holder in current_roles(incident)
    )


def can_publish(user: User, incident: Incident) -> bool:
    """HANDBOOK §7: incident managers and the incident's communications managers."""
    return user.has_perm("incidents.publish_communication") or holds_publishing_role(user, incident)


def can_draft(user: User, incident: Incident) -> bool:
    """Responders may write drafts and ask someone who can publish to review them."""
    return can_publish(user, incident) or user.has_perm("incidents.add_timelineentry")


def can_view_internal_page(user: User) -> bool:
    return user.has_perm("incidents.view_incident")


NO_SUCH_COMMUNICATION = _("No such communication.")


def access_communication(user: User, pk: int) -> Communication:
    """The communication if the user may see its incident; 404 otherwise, in the same
    words whether it is missing or its incident is unseen."""
    try:
        communication = Communication.objects.select_related("incident").get(pk=pk)
    except Communication.DoesNotExist:
        raise Http404(NO_SUCH_COMMUNICATION) from None
    access_incident(user, communication.incident.key, not_found=NO_SUCH_COMMUNICATION)
    return communication


def can_plan_maintenance(user: User) -> bool:
    """Scheduled maintenances go on the public page: the people who publish to it plan,
    edit and cancel them (no incident here, so no incident role counts)."""
    return user.has_perm("incidents.publish_communication")


def can_view_maintenances(user: User) -> bool:
    return can_view_internal_page(user)


def can_manage_lists(user: User) -> bool:
    return user.has_perm("comms.change_distributionlist")


def require(allowed: bool, message: str | Promise) -> None:
    if not allowed:
        raise PermissionDenied(message)
