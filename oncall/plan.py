"""An escalation policy frozen into a plan: what an escalation follows once started.

``start_escalations`` stores the plan of the team's policy on the ``Escalation`` (JSON):
a team admin who edits the policy during an incident changes the next incidents, never
the escalation in flight, and a step whose roster or person was since removed is
skipped with a note instead of breaking the escalation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .models import Escalation, EscalationPolicy, StepKind

VERSION = 1


@dataclass(frozen=True)
class PlannedStep:
    wait_minutes: int
    kind: str
    roster_id: int | None = None
    user_id: int | None = None
    team_id: int | None = None
    # What the step was called when planned (a roster's name, a username), for the
    # paging history when its target no longer exists.
    label: str = ""


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlannedStep, ...]
    repeat: int

    @property
    def first_wait_minutes(self) -> int | None:
        return self.steps[0].wait_minutes if self.steps else None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "repeat": self.repeat,
            "steps": [asdict(step) for step in self.steps],
        }


NO_PLAN = Plan(steps=(), repeat=0)


def _label(kind: str, roster: object, user: object, team: object) -> str:
    if kind == StepKind.ROSTER:
        return str(roster)
    if kind == StepKind.USER:
        return str(getattr(user, "username", user))
    if kind == StepKind.TEAM:
        return str(team)
    return "IMOC"


def of_policy(policy: EscalationPolicy | None) -> Plan:
    """The policy's steps as they are now (one query)."""
    if policy is None:
        return NO_PLAN
    steps = []
    for step in policy.steps.select_related("roster", "user", "policy__team").order_by("position"):
        kind = step.target_kind
        steps.append(
            PlannedStep(
                wait_minutes=step.wait_minutes,
                kind=kind,
                roster_id=step.roster_id,
                user_id=step.user_id,
                team_id=policy.team_id if kind == StepKind.TEAM else None,
                label=_label(kind, step.roster, step.user, step.policy.team),
            )
        )
    return Plan(steps=tuple(steps), repeat=policy.repeat)


def from_json(data: dict[str, Any]) -> Plan:
    steps = tuple(PlannedStep(**step) for step in data.get("steps", []))
    return Plan(steps=steps, repeat=int(data.get("repeat", 0)))


def of_escalation(escalation: Escalation) -> Plan:
    """The plan the escalation started with; the live policy for escalations started
    before plans were stored."""
    if escalation.plan is not None:
        return from_json(escalation.plan)
    return of_policy(escalation.policy)
