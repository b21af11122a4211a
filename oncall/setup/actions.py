"""Every change made while setting a team up: teams, their admins and members, rosters
(created and archived here; rotations through ``oncall.actions.change_rotation``) and
escalation policies. Interfaces check ``setup.access`` first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from incidents.actions import ActionRefused
from incidents.models import Team

from .. import actions as oncall_actions
from ..models import EscalationPolicy, EscalationStep, Roster, ShiftUnit, StepKind, TeamAdmin

MAX_STEPS = 20
MAX_REPEAT = 9
MAX_WAIT_MINUTES = 24 * 60


def _refuse_invalid(error: ValidationError) -> ActionRefused:
    field, messages = next(iter(error.message_dict.items()))
    return ActionRefused(" ".join(messages), field=field)


# Teams --------------------------------------------------------------------------------


@transaction.atomic
def create_team(*, name: str, slug: str = "", email: str = "", by: User) -> Team:
    """A new team; its slug from its name unless given."""
    team = Team(name=name.strip(), slug=slug or slugify(name)[:100], email=email.strip())
    if not team.slug:
        raise ActionRefused(_("Give the team a name with letters or digits."), field="name")
    try:
        team.full_clean()
    except ValidationError as error:
        raise _refuse_invalid(error) from None
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        # Created by someone else since the check above: the unique index decides.
        raise ActionRefused(
            _("A team with this name was just created."), field="name", conflict=True
        ) from None
    return team


@transaction.atomic
def update_team(team: Team, *, by: User, name: str | None = None, email: str | None = None) -> Team:
    """Rename the team or change its contact address (where severity-3 incidents go)."""
    current = Team.objects.select_for_update().get(pk=team.pk)
    if name is not None:
        current.name = name.strip()
    if email is not None:
        current.email = email.strip()
    try:
        current.full_clean()
    except ValidationError as error:
        raise _refuse_invalid(error) from None
    current.save(update_fields=["name", "email"])
    return current


@transaction.atomic
def set_team_admins(team: Team, *, users: Sequence[User], by: User) -> list[User]:
    """The team's admins become exactly ``users``."""
    Team.objects.select_for_update().get(pk=team.pk)
    wanted = {user.pk: user for user in users}
    inactive = [user.username for user in users if not user.is_active]
    if inactive:
        raise ActionRefused(
            _("%(names)s cannot sign in.") % {"names": ", ".join(inactive)}, field="admins"
        )
    TeamAdmin.objects.filter(team=team).exclude(user_id__in=wanted).delete()
    present = set(TeamAdmin.objects.filter(team=team).values_list("user_id", flat=True))
    TeamAdmin.objects.bulk_create(
        TeamAdmin(team=team, user=user) for pk, user in wanted.items() if pk not in present
    )
    return sorted(wanted.values(), key=lambda user: user.username)


@transaction.atomic
def set_team_members(team: Team, *, users: Sequence[User], by: User) -> list[User]:
    """The team's members (paged by a "whole team" step) become exactly ``users``."""
    Team.objects.select_for_update().get(pk=team.pk)
    team.members.set(users)
    return sorted(users, key=lambda user: user.username)


# Rosters ------------------------------------------------------------------------------


def _free_slug(base: str) -> str:
    base = slugify(base)[:90] or "roster"
    slug, number = base, 2
    while Roster.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


@transaction.atomic
def create_team_roster(
    team: Team,
    *,
    name: str,
    by: User,
    participants: Sequence[User] = (),
    shift_length: int = 1,
    shift_unit: str = ShiftUnit.WEEKS,
    handoff_time: time = time(9, 0),
    start_date: date | None = None,
    time_zone: str = "UTC",
) -> Roster:
    """A roster of the team; its first rotation starts at its first hand-off."""
    if not name.strip():
        raise ActionRefused(_("Give the roster a name."), field="name")
    if len({user.pk for user in participants}) != len(participants):
        raise ActionRefused(_("Each person takes one place in the rotation."), field="participants")
    try:
        with transaction.atomic():
            return oncall_actions.create_roster(
                slug=_free_slug(f"{team.slug}-{name}"),
                name=name.strip(),
                team=team,
                by=by,
                participants=participants,
                shift_length=shift_length,
                shift_unit=shift_unit,
                handoff_time=handoff_time,
                start_date=start_date,
                time_zone=time_zone,
            )
    except ValidationError as error:
        raise _refuse_invalid(error) from None
    except IntegrityError:
        # Two rosters named alike at the same instant: the slug's unique index decides.
        raise ActionRefused(
            _("Another roster was just created with this name; try again."),
            field="name",
            conflict=True,
        ) from None


@transaction.atomic
def archive_roster(roster: Roster, *, by: User) -> Roster:
    """The roster stops paging and leaves the lists; its history stays."""
    current = Roster.objects.select_for_update().get(pk=roster.pk)
    if current.is_archived:
        return current
    if current.is_imoc:
        raise ActionRefused(_("The IMOC roster is paged when nobody answers; it stays."))
    policies = sorted(
        {
            step.policy.team.name
            for step in EscalationStep.objects.filter(roster=current).select_related("policy__team")
        }
    )
    if policies:
        raise ActionRefused(
            _("%(roster)s is a step of the escalation policy of %(teams)s: remove that step first.")
            % {"roster": current.name, "teams": ", ".join(policies)}
        )
    current.archived_at = timezone.now()
    current.save(update_fields=["archived_at"])
    return current


@transaction.atomic
def restore_roster(roster: Roster, *, by: User) -> Roster:
    current = Roster.objects.select_for_update().get(pk=roster.pk)
    if current.is_archived:
        current.archived_at = None
        current.save(update_fields=["archived_at"])
    return current


# Escalation policies ----------------------------------------------------------------------


@dataclass(frozen=True)
class StepIn:
    """One step as asked: wait ``wait_minutes`` unacknowledged, then notify ``kind``."""

    kind: str
    wait_minutes: int
    roster: Roster | None = None
    user: User | None = None


def _check_step(team: Team, number: int, step: StepIn) -> None:
    # Each message whole (its step number a placeholder): word order differs by language.
    if step.kind not in StepKind.values:
        raise ActionRefused(
            _("Step %(number)s: choose what the step notifies.") % {"number": number},
            field="steps",
        )
    if not 1 <= step.wait_minutes <= MAX_WAIT_MINUTES:
        raise ActionRefused(
            _("Step %(number)s: wait between 1 and %(most)s minutes.")
            % {"number": number, "most": MAX_WAIT_MINUTES},
            field="steps",
        )
    if step.kind == StepKind.ROSTER:
        if step.roster is None:
            raise ActionRefused(
                _("Step %(number)s: choose the roster to notify.") % {"number": number},
                field="steps",
            )
        if step.roster.is_archived:
            raise ActionRefused(
                _("Step %(number)s: %(roster)s is archived.")
                % {"number": number, "roster": step.roster.name},
                field="steps",
            )
    if step.kind == StepKind.USER:
        if step.user is None:
            raise ActionRefused(
                _("Step %(number)s: choose the person to notify.") % {"number": number},
                field="steps",
            )
        if not step.user.is_active:
            raise ActionRefused(
                _("Step %(number)s: %(name)s cannot sign in.")
                % {"number": number, "name": step.user.username},
                field="steps",
            )


@transaction.atomic
def save_escalation_policy(
    team: Team, *, steps: Sequence[StepIn], repeat: int, by: User
) -> EscalationPolicy:
    """The team's policy becomes these steps, in order, run ``repeat`` more times before
    the IMOC is paged. Escalations already running keep the plan they started with."""
    if not 0 <= repeat <= MAX_REPEAT:
        raise ActionRefused(
            _("Repeat between 0 and %(most)s times.") % {"most": MAX_REPEAT}, field="repeat"
        )
    if len(steps) > MAX_STEPS:
        raise ActionRefused(
            _("A policy has at most %(most)s steps.") % {"most": MAX_STEPS}, field="steps"
        )
    for number, step in enumerate(steps, start=1):
        _check_step(team, number, step)
    Team.objects.select_for_update().get(pk=team.pk)
    policy, _created = EscalationPolicy.objects.get_or_create(team=team)
    policy.repeat = repeat
    policy.save(update_fields=["repeat"])
    policy.steps.all().delete()
    EscalationStep.objects.bulk_create(
        EscalationStep(
            policy=policy,
            position=position,
            wait_minutes=step.wait_minutes,
            kind=step.kind,
            roster=step.roster if step.kind == StepKind.ROSTER else None,
            user=step.user if step.kind == StepKind.USER else None,
        )
        for position, step in enumerate(steps)
    )
    return policy
