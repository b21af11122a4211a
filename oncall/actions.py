"""Every change to rosters, escalations and pages: the only place that writes them.

Paging follows DESIGN rules 1-3: a page is a row written in the transaction of the
incident change that causes it, ``transaction.on_commit`` wakes a worker to deliver it,
and escalation timers are ``Escalation.next_escalation_at`` read by a beat tick.
Each paging change is recorded as a ``PagingEvent``, the incident's paging history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone

from incidents import actions as incident_actions
from incidents import events
from incidents.actions import ActionRefused
from incidents.models import CLOSED_STATUSES, EntryKind, Incident, Severity, Team

from . import schedule
from .models import (
    IMOC_SLUG,
    ContactKind,
    ContactMethod,
    Escalation,
    EscalationPolicy,
    EscalationState,
    EscalationStep,
    EventKind,
    Override,
    Page,
    PageReason,
    PageState,
    PagingEvent,
    Participant,
    Roster,
)

MAJOR = (Severity.CRITICAL, Severity.MAJOR)


def _name(user: User | None) -> str:
    return user.get_username() if user is not None else "the system"


def _event(incident: Incident, kind: str, text: str, by: User | None = None) -> PagingEvent:
    """Record a paging step in the paging history and on the incident's timeline."""
    incident_actions.record_app_event(incident, kind=EntryKind.PAGE, text=text, by=by, step=kind)
    return PagingEvent.objects.create(incident=incident, kind=kind, text=text[:300], by=by)


# Rosters -----------------------------------------------------------------------------


@transaction.atomic
def set_participants(roster: Roster, users: Sequence[User], *, by: User) -> Roster:
    """Replace the rotation's order: the first user takes shift 0, and so on."""
    if len({user.pk for user in users}) != len(users):
        raise ActionRefused("Each person takes one place in the rotation.", field="participants")
    Roster.objects.select_for_update().get(pk=roster.pk)
    roster.participants.all().delete()
    Participant.objects.bulk_create(
        Participant(roster=roster, user=user, position=index) for index, user in enumerate(users)
    )
    return roster


@transaction.atomic
def add_override(
    roster: Roster,
    *,
    user: User,
    starts_at: datetime,
    ends_at: datetime,
    by: User,
    reason: str = "",
) -> Override:
    if ends_at <= starts_at:
        raise ActionRefused("The override must end after it starts.", field="ends_at")
    # The roster row lock queues concurrent additions, so two overlapping ones cannot
    # both pass the check below.
    Roster.objects.select_for_update().get(pk=roster.pk)
    clash = (
        roster.overrides.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
        .select_related("user")
        .first()
    )
    if clash is not None:
        raise ActionRefused(
            f"Overlaps the override of {clash.user.get_username()} from "
            f"{clash.starts_at:%Y-%m-%d %H:%M} to {clash.ends_at:%Y-%m-%d %H:%M} UTC; "
            "change or remove that one first.",
            field="starts_at",
        )
    return Override.objects.create(
        roster=roster, user=user, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=by
    )


@transaction.atomic
def remove_override(override: Override, *, by: User) -> None:
    Override.objects.filter(pk=override.pk).delete()


@transaction.atomic
def update_roster(roster: Roster, *, by: User, **fields: object) -> Roster:
    allowed = {"name", "shift_length", "shift_unit", "handoff_time", "start_date", "time_zone"}
    unknown = set(fields) - allowed
    if unknown:
        raise ActionRefused(f"{sorted(unknown)[0]} cannot be changed here.", field=min(unknown))
    current = Roster.objects.select_for_update().get(pk=roster.pk)
    for field, value in fields.items():
        setattr(current, field, value)
    current.full_clean(exclude=["team", "slug", "feed_token"])
    current.save(update_fields=[*fields])
    return current


@transaction.atomic
def add_contact_method(
    user: User, *, kind: str, target: str, secret: str = "", by: User
) -> ContactMethod:
    if kind not in ContactKind.values:
        raise ActionRefused("Choose e-mail, Slack-compatible or signed webhook.", field="kind")
    method = ContactMethod(user=user, kind=kind, target=target.strip(), secret=secret)
    checker: Callable[[str], None] = (
        validate_email if kind == ContactKind.EMAIL else URLValidator(schemes=["http", "https"])
    )
    try:
        checker(method.target)
    except ValidationError:
        raise ActionRefused("Enter a valid address for this kind.", field="target") from None
    if ContactMethod.objects.filter(user=user, kind=kind, target=method.target).exists():
        raise ActionRefused("You already have this contact method.", field="target")
    method.save()
    return method


@transaction.atomic
def remove_contact_method(method: ContactMethod, *, by: User) -> None:
    ContactMethod.objects.filter(pk=method.pk).delete()


# Who to page --------------------------------------------------------------------------


def imoc_roster() -> Roster | None:
    return Roster.objects.filter(slug=IMOC_SLUG).first()


def primary_roster(team: Team | None) -> Roster | None:
    """The roster that answers for a team's services: the team's first roster (its IM
    rotation); later ones serve as escalation steps."""
    if team is None:
        return None
    return Roster.objects.filter(team=team).order_by("pk").first()


def on_call_now(roster: Roster | None) -> User | None:
    return schedule.on_call(roster, timezone.now()) if roster is not None else None


# Pages --------------------------------------------------------------------------------


def _enqueue(page: Page) -> None:
    from .tasks import deliver_page

    def wake_a_worker() -> None:
        deliver_page.delay(page.pk)

    # robust: a broker outage must not fail the committed change; the sweep sends it.
    transaction.on_commit(wake_a_worker, robust=True)


def _page(
    incident: Incident,
    *,
    reason: str,
    user: User | None = None,
    address: str = "",
    roster: Roster | None = None,
    message: str = "",
    by: User | None = None,
) -> Page:
    page = Page.objects.create(
        incident=incident,
        user=user,
        address=address,
        roster=roster,
        reason=reason,
        message=message,
        created_by=by,
    )
    _enqueue(page)
    return page


def _page_roster(
    incident: Incident, roster: Roster | None, *, reason: str, by: User | None, message: str = ""
) -> Page | None:
    """Page whoever is on call for ``roster`` now; record it when nobody is."""
    person = on_call_now(roster)
    if person is None:
        label = roster.name if roster else "no roster"
        _event(incident, EventKind.NOBODY, f"Nobody is on call for {label}.", by)
        return None
    page = _page(incident, reason=reason, user=person, roster=roster, message=message, by=by)
    _event(
        incident,
        EventKind.STEP if reason != PageReason.MANUAL else EventKind.MANUAL,
        f"Paged {person.get_username()} ({PageReason(reason).label}, {roster.name}).",  # type: ignore[union-attr]
        by,
    )
    return page


def _first_wait(policy: EscalationPolicy | None, steps: list[EscalationStep]) -> timedelta:
    if steps:
        return timedelta(minutes=steps[0].wait_minutes)
    return timedelta(minutes=settings.ONCALL_IMOC_AFTER_MINUTES)


def _steps(policy: EscalationPolicy | None) -> list[EscalationStep]:
    if policy is None:
        return []
    return list(policy.steps.select_related("roster", "user").order_by("position"))


@transaction.atomic
def start_escalation(incident: Incident, *, by: User | None) -> Escalation:
    """Page the on-call IM of the faulty service's team (or the IMOC) and start the clock."""
    team = incident.faulty_service.team
    policy = EscalationPolicy.objects.filter(team=team).first() if team else None
    steps = _steps(policy)
    now = timezone.now()
    escalation, _ = Escalation.objects.select_for_update().get_or_create(incident=incident)
    escalation.policy = policy
    escalation.state = EscalationState.ACTIVE
    escalation.fired = 0
    escalation.started_at = now
    escalation.next_escalation_at = now + _first_wait(policy, steps)
    escalation.save()
    _event(incident, EventKind.STARTED, f"Severity {incident.severity}: paging started.", by)
    roster = primary_roster(team)
    page = None
    if roster is not None:
        page = _page_roster(incident, roster, reason=PageReason.INCIDENT, by=by)
    if page is None:
        _page_roster(incident, imoc_roster(), reason=PageReason.IMOC, by=by)
    return escalation


@transaction.atomic
def stop_escalation(incident: Incident, *, by: User | None, why: str) -> int:
    """Stop the clock and cancel pages not yet delivered; returns how many were cancelled."""
    stopped = Escalation.objects.filter(incident=incident, state=EscalationState.ACTIVE).update(
        state=EscalationState.STOPPED, next_escalation_at=None, updated_at=timezone.now()
    )
    cancelled = Page.objects.filter(
        incident=incident, state=PageState.PENDING, reason__in=_ESCALATING_REASONS
    ).update(state=PageState.CANCELLED, claimed_until=None)
    if stopped or cancelled:
        _event(incident, EventKind.STOPPED, f"Escalation stopped: {why}.", by)
    return cancelled


_ESCALATING_REASONS = (PageReason.INCIDENT, PageReason.ESCALATION, PageReason.IMOC)


def _fire(escalation: Escalation, now: datetime) -> None:
    """Page the next step (skipping steps with nobody on call) and set the next time."""
    steps = _steps(escalation.policy)
    repeat = escalation.policy.repeat if escalation.policy else 0
    total = len(steps) * (repeat + 1)
    incident = escalation.incident
    while escalation.fired <= total:
        index = escalation.fired
        escalation.fired += 1
        if index < total:
            step = steps[index % len(steps)]
            if step.user is not None:
                _page(incident, reason=PageReason.ESCALATION, user=step.user)
                _event(incident, EventKind.STEP, f"Step {index + 1}: paged {_name(step.user)}.")
                break
            if _page_roster(incident, step.roster, reason=PageReason.ESCALATION, by=None):
                break
        elif _page_roster(incident, imoc_roster(), reason=PageReason.IMOC, by=None):
            break
    if escalation.fired <= total:
        wait = steps[escalation.fired % len(steps)].wait_minutes if steps else 0
        escalation.next_escalation_at = now + timedelta(minutes=wait)
    else:
        escalation.state = EscalationState.EXHAUSTED
        escalation.next_escalation_at = None
    escalation.save(update_fields=["fired", "state", "next_escalation_at", "updated_at"])


def run_due_escalations(*, limit: int = 100) -> int:
    """Fire every escalation whose time has come; safe to run on many workers at once."""
    fired = 0
    with transaction.atomic():
        now = timezone.now()
        due = (
            Escalation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("incident", "policy")
            .filter(state=EscalationState.ACTIVE, next_escalation_at__lte=now)
            .order_by("next_escalation_at")[:limit]
        )
        for escalation in due:
            _fire(escalation, now)
            fired += 1
    return fired


@transaction.atomic
def escalate_now(incident: Incident) -> None:
    """A page failed: the next step fires at the next tick instead of after its wait."""
    updated = Escalation.objects.filter(incident=incident, state=EscalationState.ACTIVE).update(
        next_escalation_at=timezone.now()
    )
    if updated:
        from .tasks import escalate

        transaction.on_commit(escalate.delay, robust=True)


@transaction.atomic
def acknowledge_escalation(incident: Incident, *, by: User, why: str) -> None:
    """What acknowledging the incident elsewhere (a monitoring tool) does: the
    escalation's latest open page is acknowledged, which stops the escalation; with no
    page (nobody was on call to page) the clock stops all the same."""
    page = (
        Page.objects.filter(
            incident=incident,
            reason__in=_ESCALATING_REASONS,
            state__in=(PageState.PENDING, PageState.SENT),
        )
        .order_by("-pk")
        .first()
    )
    if page is not None:
        acknowledge_page(page, by=by)
    elif Escalation.objects.filter(incident=incident, state=EscalationState.ACTIVE).exists():
        stop_escalation(incident, by=by, why=why)


def acknowledge_page(page: Page, *, by: User) -> Page:
    """Stop the escalation of the page's incident. It does not claim the incident."""
    current = Page.objects.select_for_update().select_related("incident").get(pk=page.pk)
    if current.state == PageState.ACKNOWLEDGED:
        return current
    if current.state == PageState.CANCELLED:
        raise ActionRefused("This page was cancelled: its escalation had stopped.")
    now = timezone.now()
    current.state = PageState.ACKNOWLEDGED
    current.acknowledged_at = now
    current.acknowledged_by = by
    current.claimed_until = None
    current.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "claimed_until"])
    Escalation.objects.filter(incident=current.incident, state=EscalationState.ACTIVE).update(
        state=EscalationState.ACKNOWLEDGED, next_escalation_at=None, updated_at=now
    )
    _event(current.incident, EventKind.ACKNOWLEDGED, f"{_name(by)} acknowledged the page.", by)
    return current


@transaction.atomic
def page_manually(
    incident: Incident,
    *,
    by: User,
    message: str,
    roster: Roster | None = None,
    user: User | None = None,
) -> Page:
    """HANDBOOK §6: page another team's on-call person, or a named person."""
    if (roster is None) == (user is None):
        raise ActionRefused("Choose a roster or a person to page.", field="roster")
    if not message.strip():
        raise ActionRefused("Say why you page them.", field="message")
    if user is not None:
        page = _page(incident, reason=PageReason.MANUAL, user=user, message=message, by=by)
        _event(incident, EventKind.MANUAL, f"{_name(by)} paged {_name(user)}: {message}", by)
        return page
    paged = _page_roster(incident, roster, reason=PageReason.MANUAL, by=by, message=message)
    if paged is None:
        raise ActionRefused(f"Nobody is on call for {roster} right now.", field="roster")
    return paged


# Delivery bookkeeping (the sending itself is in delivery.py) ----------------------------


def mark_sent(page_id: int) -> bool:
    """Every channel accepted the page (a retry never re-sends an accepted one)."""
    return bool(
        Page.objects.filter(pk=page_id, state=PageState.PENDING).update(
            state=PageState.SENT, sent_at=timezone.now(), claimed_until=None
        )
    )


def schedule_retry(page_id: int, delay: float) -> bool:
    """Give the page back, due again in ``delay`` seconds: the sweep re-enqueues it."""
    return bool(
        Page.objects.filter(pk=page_id, state=PageState.PENDING).update(
            claimed_until=None, next_attempt_at=timezone.now() + timedelta(seconds=delay)
        )
    )


def mark_failed(page_id: int, why: str) -> bool:
    with transaction.atomic():
        page = Page.objects.select_related("incident").get(pk=page_id)
        done = Page.objects.filter(pk=page_id, state=PageState.PENDING).update(
            state=PageState.FAILED, claimed_until=None
        )
        if done:
            _event(page.incident, EventKind.FAILED, f"Page to {page.recipient} failed: {why}")
            if page.reason in _ESCALATING_REASONS:
                escalate_now(page.incident)
    return bool(done)


# Reacting to incidents ------------------------------------------------------------------


def _team_email(incident: Incident, by: User | None) -> None:
    team = incident.faulty_service.team
    if team is not None and team.email:
        _page(incident, reason=PageReason.TEAM_EMAIL, address=team.email, by=by)
        _event(incident, EventKind.STEP, f"Severity 3: e-mailed {team.name} ({team.email}).", by)


def on_incident_created(event: events.IncidentEvent) -> None:
    if event.incident.severity in MAJOR:
        start_escalation(event.incident, by=event.by)
    else:
        _team_email(event.incident, event.by)


def on_severity_changed(event: events.IncidentEvent) -> None:
    previous, now = event.data.get("previous"), event.incident.severity
    if now in MAJOR and previous not in MAJOR:
        start_escalation(event.incident, by=event.by)
    elif now not in MAJOR and previous in MAJOR:
        stop_escalation(event.incident, by=event.by, why=f"severity lowered to {now}")


def on_status_changed(event: events.IncidentEvent) -> None:
    if event.incident.status in CLOSED_STATUSES:
        stop_escalation(event.incident, by=event.by, why="the incident is resolved")


def pending_pages_due(now: datetime) -> list[int]:
    """Pages a worker should be delivering but nobody holds: what the sweep re-enqueues."""
    return list(Page.objects.claimable(now).values_list("pk", flat=True)[:500])
