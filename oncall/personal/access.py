"""Who may do what with personal on-call, asked by the portal and the API alike.

Rules and test pages are each person's own: nobody reads or changes another's (a
lookup of someone else's answers 404, like one that does not exist). Swaps are read by
everyone signed in; offered by the person on call, taken by a teammate (the actions
check both, they depend on the roster's schedule). The load report is for those who
plan rosters: global admins and team admins.
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _

from ..access import User, can_read, is_global_admin, require
from ..models import TeamAdmin
from .models import NotificationRule, ShiftSwap, TestPage

__all__ = ["can_read", "require"]


def own_rule(user: User, pk: int) -> NotificationRule:
    rule = NotificationRule.objects.filter(pk=pk, user_id=user.pk or 0).first()
    if rule is None or not can_read(user):
        raise Http404(_("No such rule."))
    return rule


def own_test_page(user: User, pk: int) -> TestPage:
    page = TestPage.objects.filter(pk=pk, user_id=user.pk or 0).first()
    if page is None or not can_read(user):
        raise Http404(_("No such test page."))
    return page


def access_swap(user: User, pk: int) -> ShiftSwap:
    require(can_read(user), _("Sign in to see swaps."))
    swap = ShiftSwap.objects.select_related("roster", "offered_by", "taken_by").filter(pk=pk)
    found = swap.first()
    if found is None:
        raise Http404(_("No such swap."))
    return found


def can_see_load(user: User) -> bool:
    return is_global_admin(user) or bool(
        user.is_authenticated and TeamAdmin.objects.filter(user_id=user.pk).exists()
    )
