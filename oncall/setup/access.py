"""Who sets teams up. Global admins create teams and name team admins; a team's admins
manage its members, rosters and escalation policy; everyone signed in reads them."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from comms.models import DistributionList, Webhook
from incidents.models import Team

from .. import access as oncall_access

User = oncall_access.User
can_read = oncall_access.can_read
can_edit_team = oncall_access.can_edit_team
is_global_admin = oncall_access.is_global_admin
require = oncall_access.require


def can_create_team(user: User) -> bool:
    return is_global_admin(user)


def can_name_admins(user: User) -> bool:
    return is_global_admin(user)


def access_team(user: User, slug: str, *, write: bool = False) -> Team:
    """The team if the user may see it (and manage it, with ``write``); 404 / 403 otherwise."""
    if not can_read(user):
        raise PermissionDenied(_("Sign in to see teams."))
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise Http404(_("No such team."))
    if write and not can_edit_team(user, team):
        raise PermissionDenied(_("Only this team's admins and global admins change it."))
    return team


def access_team_webhook(user: User, slug: str, pk: int, *, write: bool = False) -> Webhook:
    """One of the team's own webhooks (a global one is not the team's: 404)."""
    team = access_team(user, slug, write=write)
    webhook = Webhook.objects.filter(team=team, pk=pk).first()
    if webhook is None:
        raise Http404(_("No such webhook."))
    return webhook


def access_team_distribution_list(
    user: User, slug: str, pk: int, *, write: bool = False
) -> DistributionList:
    """One of the team's own distribution lists (a global one is not the team's: 404)."""
    team = access_team(user, slug, write=write)
    distribution = DistributionList.objects.filter(team=team, pk=pk).first()
    if distribution is None:
        raise Http404(_("No such distribution list."))
    return distribution
