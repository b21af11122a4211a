"""Roles and delegation (HANDBOOK §7): assign, hand over, release; the history is kept."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import events
from incidents.actions import ActionRefused, _name, _say, _touch
from incidents.models import OPEN_STATUSES, EntryKind, Incident, Role, RoleAssignment


def _check_role_holder(person: User, role: str) -> None:
    if role == Role.INCIDENT_MANAGER:
        if not person.has_perm("incidents.claim_incident"):
            raise ActionRefused(
                _("%(name)s is not an incident manager.") % {"name": _name(person)}, field="person"
            )
    elif not person.has_perm("incidents.take_role"):
        raise ActionRefused(
            _("%(name)s may not take a role in incidents.") % {"name": _name(person)},
            field="person",
        )


def _lock_open(incident: Incident) -> Incident:
    current = Incident.objects.select_for_update().get(pk=incident.pk)
    if current.status not in OPEN_STATUSES:
        # Every incident starts open: someone closed it since this was asked (a lost race).
        raise ActionRefused(
            _("%(key)s is %(status)s: roles are for the response.")
            % {"key": current.key, "status": current.get_status_display().lower()},
            conflict=True,
        )
    return current


def _lock_current_role(assignment: RoleAssignment) -> RoleAssignment:
    current = RoleAssignment.objects.select_for_update().get(pk=assignment.pk)
    if current.ended_at is not None:
        raise ActionRefused(
            _("%(name)s no longer holds %(role)s.")
            % {"name": _name(current.person), "role": current.label},
            conflict=True,
        )
    return current


def _announce_roles(
    incident: Incident, *, by: User, previous_assignee: User | None, **data: Any
) -> None:
    # The chat topic lists every role; one event per change, the assignee's when it moved.
    if incident.assignee_id != (previous_assignee.pk if previous_assignee else None):
        events.publish(events.ASSIGNEE_CHANGED, incident, by=by, previous=previous_assignee)
    else:
        events.publish(events.ROLE_CHANGED, incident, by=by, **data)


@transaction.atomic
def assign_role(
    incident: Incident,
    *,
    person: User,
    role: str,
    by: User,
    custom_name: str = "",
    scope: str = "",
) -> RoleAssignment:
    """Give ``person`` a role. Several people may hold a role; the same person holding
    it already is a no-op. An IM role on an incident without one makes them the assignee."""
    if role not in Role.values:
        raise ActionRefused(
            _("Choose a role: %(roles)s.") % {"roles": ", ".join(Role.values)}, field="role"
        )
    custom_name = custom_name.strip() if role == Role.CUSTOM else ""
    if role == Role.CUSTOM and not custom_name:
        raise ActionRefused(_("Name the custom role."), field="custom_name")
    current = _lock_open(incident)
    _check_role_holder(person, role)
    held = (
        RoleAssignment.objects.current()
        .filter(incident=current, person=person, role=role, custom_name=custom_name)
        .first()
    )
    if held is not None:
        return held
    assignment = RoleAssignment.objects.create(
        incident=current,
        person=person,
        role=role,
        custom_name=custom_name,
        scope=scope.strip(),
        assigned_by=by,
    )
    previous_assignee = current.assignee
    if role == Role.INCIDENT_MANAGER and current.assignee_id is None:
        current.assignee = person
        current.save(update_fields=["assignee", "updated_at"])
    else:
        _touch(current)
    label = assignment.label
    _say(
        current,
        EntryKind.ROLE,
        by,
        "role.assigned",
        who=_name(by),
        scope=assignment.scope,
        action="assigned",
        role=role,
        label=label,
        person=_name(person),
    )
    _announce_roles(
        current,
        by=by,
        previous_assignee=previous_assignee,
        action="assigned",
        role=role,
        label=label,
        person=_name(person),
    )
    return assignment


@transaction.atomic
def hand_over_role(
    assignment: RoleAssignment, *, to: User, by: User, note: str = ""
) -> RoleAssignment:
    """End one holder's role and give it to ``to`` with the same name and scope. Handing
    over the assignee's IM role makes ``to`` the assignee."""
    current = _lock_open(assignment.incident)
    old = _lock_current_role(assignment)
    if old.person_id == to.pk:
        raise ActionRefused(
            _("%(name)s already holds %(role)s.") % {"name": _name(to), "role": old.label},
            field="to",
        )
    _check_role_holder(to, old.role)
    now = timezone.now()
    old.ended_at = now
    old.ended_by = by
    old.save(update_fields=["ended_at", "ended_by"])
    # The receiver may already hold the role beside the giver (a supporting IM).
    new = RoleAssignment.objects.current().filter(
        incident=current, person=to, role=old.role, custom_name=old.custom_name
    ).first() or RoleAssignment.objects.create(
        incident=current,
        person=to,
        role=old.role,
        custom_name=old.custom_name,
        scope=old.scope,
        started_at=now,
        assigned_by=by,
    )
    previous_assignee = current.assignee
    if old.role == Role.INCIDENT_MANAGER and current.assignee_id == old.person_id:
        current.assignee = to
        current.save(update_fields=["assignee", "updated_at"])
    else:
        _touch(current)
    note = note.strip()
    facts = {
        "action": "handed_over",
        "role": old.role,
        "label": old.label,
        "person": _name(to),
        "from": _name(old.person),
    }
    _say(current, EntryKind.ROLE, by, "role.handed_over", note=note, **facts)
    _announce_roles(current, by=by, previous_assignee=previous_assignee, **facts)
    return new


@transaction.atomic
def release_role(assignment: RoleAssignment, *, by: User) -> RoleAssignment:
    """End a role. When the assignee gives up the IM role, the longest-serving other IM
    becomes the assignee; without one the incident has no IM."""
    current = _lock_open(assignment.incident)
    old = _lock_current_role(assignment)
    old.ended_at = timezone.now()
    old.ended_by = by
    old.save(update_fields=["ended_at", "ended_by"])
    previous_assignee = current.assignee
    if old.role == Role.INCIDENT_MANAGER and current.assignee_id == old.person_id:
        successor = (
            RoleAssignment.objects.current()
            .filter(incident=current, role=Role.INCIDENT_MANAGER)
            .select_related("person")
            .order_by("started_at", "id")
            .first()
        )
        current.assignee = successor.person if successor else None
        current.save(update_fields=["assignee", "updated_at"])
    else:
        _touch(current)
    manager_changed = previous_assignee is not None and current.assignee_id != previous_assignee.pk
    facts = {
        "action": "released",
        "role": old.role,
        "label": old.label,
        "person": _name(old.person),
    }
    _say(
        current,
        EntryKind.ROLE,
        by,
        "role.released",
        who=_name(by),
        manager_changed=manager_changed,
        successor=_name(current.assignee) if current.assignee else None,
        **facts,
    )
    _announce_roles(current, by=by, previous_assignee=previous_assignee, **facts)
    return old
