"""Who may see or do what with incidents. Every interface asks here before acting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from config.statements import Statement, compile_query
from incidents.models import (
    HUMAN_KINDS,
    Incident,
    IncidentQuerySet,
    Role,
    RoleAssignment,
    TimelineEntry,
)

User = AuthUser | AnonymousUser


def normalize_key(key: str) -> str:
    return key.strip().upper()


def can_view_incidents(user: User) -> bool:
    return user.has_perm("incidents.view_incident")


def check_view_incidents(user: User) -> None:
    if not can_view_incidents(user):
        raise PermissionDenied(_("You may not view incidents."))


# The person a shared statement compares with (``Incident.objects.visible_to``'s
# ``person``), each run's viewer in its place (``config.statements``): no one's id.
VIEWER = -1_000_000_007


def shared_incidents(user: User) -> IncidentQuerySet:
    """The incidents ``user`` may see, compared with ``VIEWER`` in place of the user: a
    statement built from them is compiled with ``compile_shared`` and kept under
    ``visibility_shape``, one for everyone with the same permissions."""
    return Incident.objects.visible_to(user, person=VIEWER)


def compile_shared(
    queryset: QuerySet[Any],
    user: User,
    *,
    sentinels: Sequence[Any] = (),
    counts: Sequence[int | None] | None = None,
) -> Statement:
    """``config.statements.compile_query`` for a queryset built on
    ``shared_incidents(user)``: each run passes the viewer's id last, after the values of
    ``sentinels``. The statement names the viewer never for those who see every
    incident, at least once for the others, checked here: a visibility that ignored
    ``person`` would otherwise share the compiling person's own comparisons with
    everyone (one that compares with both is ``visible_to``'s rule to keep out, and a
    test's to catch). Raises ``EmptyResultSet`` for someone who may see no incident."""
    viewer = 0 if user.has_perm("incidents.view_restricted_incident") else None
    counts = counts if counts is not None else [None] * len(sentinels)  # as compile_query's
    return compile_query(queryset, sentinels=[*sentinels, VIEWER], counts=[*counts, viewer])


def visibility_shape(user: User) -> tuple[Any, ...]:
    """Everything ``Incident.objects.visible_to`` reads of ``user`` but the person (their
    permissions): statements compiled with ``compile_shared`` are kept under it, one for
    everyone with the same permissions (compiled per person, a thread's statements were
    compiled again and again past a few hundred viewers)."""
    return (
        user.is_active,
        getattr(user, "is_superuser", False),
        frozenset(user.get_all_permissions()),
    )


def visible_incidents(user: User) -> IncidentQuerySet:
    check_view_incidents(user)
    return Incident.objects.visible_to(user)


def access_incident(user: User, key: str, *, not_found: str | Promise | None = None) -> Incident:
    """The incident with this key if the user may see it; 404 otherwise, never a hint.

    Reaching the incident through something of its own (a communication, a page, a
    case), pass the words that thing's missing id answers with as ``not_found``: an id
    whose incident is unseen must answer exactly like an id that does not exist, or
    trying ids one by one would reveal restricted keys."""
    try:
        return visible_incidents(user).get(key=normalize_key(key))
    except Incident.DoesNotExist:
        raise Http404(
            not_found or _("No incident %(key)s.") % {"key": normalize_key(key)}
        ) from None


def can_create(user: User) -> bool:
    return user.has_perm("incidents.add_incident")


def can_edit(user: User, incident: Incident) -> bool:
    return user.has_perm("incidents.change_incident")


def can_manage(user: User, incident: Incident) -> bool:
    """Claim, move through the workflow and change severity: incident managers."""
    return user.has_perm("incidents.claim_incident")


def can_add_entry(user: User, incident: Incident) -> bool:
    return user.has_perm("incidents.add_timelineentry")


def holds_manager_role(user: User, incident: Incident) -> bool:
    if not user.is_authenticated:
        return False
    if incident.assignee_id == user.pk:
        return True
    return (
        RoleAssignment.objects.current()
        .filter(incident=incident, person_id=user.pk, role=Role.INCIDENT_MANAGER)
        .exists()
    )


def can_delegate(user: User, incident: Incident) -> bool:
    """Assign and hand over roles (HANDBOOK §7): the incident's IM, or an incident manager."""
    return user.has_perm("incidents.assign_role") or holds_manager_role(user, incident)


def can_release(user: User, assignment: RoleAssignment) -> bool:
    """Whoever may delegate, and the holder, who may step down from their own role."""
    return assignment.person_id == user.pk or can_delegate(user, assignment.incident)


def can_assess(user: User, incident: Incident) -> bool:
    """The assessment is the IM's (HANDBOOK §4): incident managers and the IM's supporters."""
    return can_manage(user, incident) or holds_manager_role(user, incident)


def can_edit_entry(user: User, entry: TimelineEntry) -> bool:
    """Only the author corrects what they wrote; system entries are never edited."""
    return (
        entry.kind in HUMAN_KINDS
        and entry.author_id == user.pk
        and user.has_perm("incidents.add_timelineentry")
    )


def can_review(user: User, incident: Incident) -> bool:
    """The post-incident review is run by incident managers and the incident's IMs."""
    return can_manage(user, incident) or holds_manager_role(user, incident)


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def can_label(user: User) -> bool:
    """Label support cases with issue keys (HANDBOOK §1): the support team."""
    return user.has_perm("incidents.label_case")


def can_follow_up(user: User, incident: Incident) -> bool:
    """Preview the customer follow-up and switch it off: the incident's managers."""
    return can_manage(user, incident) or holds_manager_role(user, incident)


def can_see_label_history(user: User) -> bool:
    """Which cases were labelled, moved or unlabelled, by whom: support and incident
    managers (restricted incidents stay hidden from those who may not see them)."""
    return user.has_perm("incidents.label_case") or user.has_perm("incidents.claim_incident")
