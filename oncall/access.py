"""Who may see or change rosters and pages. Every view and API endpoint asks here.

Everyone signed in reads who is on call. Global admins (the admin group, through the
``oncall.change_roster`` permission) edit every roster; team admins (``TeamAdmin``) edit
their own team's rosters and escalation policy. The IMOC roster belongs to no team:
only global admins edit it.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from incidents.models import Incident, Team

from .models import Page, Roster, TeamAdmin

User = AuthUser | AnonymousUser


def can_read(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def is_global_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.has_perm("oncall.change_roster"))


def can_edit_team(user: User, team: Team | None) -> bool:
    if is_global_admin(user):
        return True
    if team is None or not user.is_authenticated:
        return False
    return TeamAdmin.objects.filter(team=team, user_id=user.pk).exists()


def administered_teams(user: User) -> QuerySet[Team] | None:
    """The teams whose rosters the user edits (``can_edit_team``); None for a global
    admin, who edits every team's and the IMOC's."""
    if is_global_admin(user):
        return None
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(oncall_admins__user_id=user.pk)


def can_edit_roster(user: User, roster: Roster) -> bool:
    return can_edit_team(user, roster.team)


def access_roster(user: User, slug: str, *, write: bool = False) -> Roster:
    """The roster if the user may see it (and edit it, with ``write``); 404 / 403 otherwise."""
    if not can_read(user):
        raise PermissionDenied(_("Sign in to see rosters."))
    try:
        roster = Roster.objects.select_related("team").get(slug=slug)
    except Roster.DoesNotExist:
        raise Http404(_("No roster %(slug)s.") % {"slug": slug}) from None
    if write and not can_edit_roster(user, roster):
        raise PermissionDenied(_("Only this team's admins and global admins edit this roster."))
    return roster


def can_page(user: User, incident: Incident) -> bool:
    """Manual escalation: the people who work on incidents (responders and IMs)."""
    return user.has_perm("incidents.add_timelineentry")


def can_acknowledge(user: User, page: Page) -> bool:
    """The person paged, or an incident manager answering for the response."""
    return bool(
        user.is_authenticated
        and (page.user_id == user.pk or user.has_perm("incidents.claim_incident"))
    )


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)
