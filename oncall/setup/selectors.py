"""Reads of the team set-up pages and API: teams, their rosters, and the escalation
preview ("who gets paged, and when")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, Prefetch, QuerySet
from django.utils.translation import gettext as _

from incidents.models import Team

from .. import plan, schedule
from ..actions import imoc_roster, primary_roster
from ..models import EscalationPolicy, EscalationStep, Roster, StepKind, TeamAdmin
from ..selectors import rosters_for_schedule


def teams() -> QuerySet[Team]:
    """Teams with their admins and roster counts, in a constant number of queries."""
    return (
        Team.objects.order_by("name")
        .annotate(
            roster_count=Count("rosters", distinct=True),
            member_count=Count("members", distinct=True),
        )
        .prefetch_related(
            Prefetch(
                "oncall_admins",
                queryset=TeamAdmin.objects.select_related("user").order_by("user__username"),
            ),
            "members",
            Prefetch("rosters", queryset=Roster.objects.order_by("pk")),
        )
    )


def team_rosters(team: Team) -> tuple[list[Roster], list[Roster]]:
    """The team's active rosters (the first answers its incidents) and archived ones."""
    rosters = list(rosters_for_schedule().filter(team=team).order_by("pk"))
    return (
        [roster for roster in rosters if not roster.is_archived],
        [roster for roster in rosters if roster.is_archived],
    )


def policy_steps(team: Team) -> tuple[EscalationPolicy | None, list[EscalationStep]]:
    policy = EscalationPolicy.objects.filter(team=team).first()
    if policy is None:
        return None, []
    steps = list(policy.steps.select_related("roster", "user").order_by("position"))
    return policy, steps


# How far from now a preview may look: rosters compute their shifts that far and more.
PREVIEW_RANGE = timedelta(days=366)


def preview_time_problem(at: datetime, now: datetime) -> str | None:
    if abs(at - now) > PREVIEW_RANGE:
        return _("Choose a time within a year of now.")
    return None


@dataclass(frozen=True)
class PreviewRow:
    at: datetime
    what: str
    who: list[User] = field(default_factory=list)


def _who(step: plan.PlannedStep, at: datetime) -> list[User]:
    if step.kind == StepKind.USER:
        return list(User.objects.filter(pk__in=[step.user_id], is_active=True))
    if step.kind == StepKind.TEAM:
        return list(User.objects.filter(teams=step.team_id, is_active=True).order_by("username"))
    roster = (
        imoc_roster()
        if step.kind == StepKind.IMOC
        else Roster.objects.filter(pk__in=[step.roster_id]).first()
    )
    if roster is None or roster.is_archived:
        return []
    person = schedule.on_call(roster, at)
    return [person] if person is not None else []


def _step_what(step: plan.PlannedStep, number: int) -> str:
    if step.kind == StepKind.ROSTER:
        return _("Step %(number)s: on call for %(roster)s") % {
            "number": number,
            "roster": step.label,
        }
    if step.kind == StepKind.USER:
        return _("Step %(number)s: a named person") % {"number": number}
    if step.kind == StepKind.TEAM:
        return _("Step %(number)s: every member of %(team)s") % {
            "number": number,
            "team": step.label,
        }
    return _("Step %(number)s: the IMOC") % {"number": number}


def preview(team: Team, at: datetime) -> list[PreviewRow]:
    """Who would be paged, and when, for an incident of the team opened at ``at`` and
    never acknowledged: as ``oncall.actions`` pages (the team's first roster at once,
    the IMOC when it has nobody; each step after its wait, a step that reaches nobody
    passing straight to the next; the IMOC after the last)."""
    policy = EscalationPolicy.objects.filter(team=team).first()
    frozen = plan.of_policy(policy)
    steps = frozen.steps
    rows = []
    first = primary_roster(team)
    on_call = schedule.on_call(first, at) if first is not None else None
    if on_call is not None:
        assert first is not None
        rows.append(PreviewRow(at, _("On call for %(roster)s") % {"roster": first.name}, [on_call]))
    else:
        imoc = imoc_roster()
        person = schedule.on_call(imoc, at) if imoc is not None else None
        rows.append(
            PreviewRow(at, _("Nobody on call for the team: the IMOC"), [person] if person else [])
        )
    minutes = steps[0].wait_minutes if steps else settings.ONCALL_IMOC_AFTER_MINUTES
    when = at + timedelta(minutes=minutes)
    total = len(steps) * (frozen.repeat + 1)
    fired = 0
    while fired <= total:
        index = fired
        fired += 1
        if index < total:
            step = steps[index % len(steps)]
            who = _who(step, when)
            rows.append(PreviewRow(when, _step_what(step, index + 1), who))
        else:
            who = _who(plan.PlannedStep(wait_minutes=0, kind=StepKind.IMOC), when)
            rows.append(PreviewRow(when, _("After every step: the IMOC"), who))
        if not who:
            continue
        if fired <= total:
            when += timedelta(minutes=steps[fired % len(steps)].wait_minutes)
    return rows
