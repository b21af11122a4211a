"""Every change to rosters, escalations and pages: the only place that writes them.

Paging follows DESIGN rules 1-3: a page is a row written in the transaction of the
incident change that causes it, ``transaction.on_commit`` wakes a worker to deliver it,
and escalation timers are ``Escalation.next_escalation_at`` read by a beat tick.
Each paging change is recorded as a ``PagingEvent``, the incident's paging history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Final, Literal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from incidents import actions as incident_actions
from incidents import entry_texts, events
from incidents.actions import ActionRefused
from incidents.models import CLOSED_STATUSES, EntryKind, Incident, Severity, Team

from . import event_texts, plan, schedule  # noqa: F401  (event_texts: registers shapes)
from .models import (
    IMOC_SLUG,
    ContactKind,
    ContactMethod,
    DeliveryAttempt,
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
    Rotation,
    ShiftUnit,
    StepKind,
    shown_target,
    without_target,
)

MAJOR = (Severity.CRITICAL, Severity.MAJOR)

# Why an escalation stopped or a page was settled: the facts of a ``why.*`` shape of
# ``event_texts`` (shown in the reader's language), or a tool's own words.
Why = str | dict[str, Any]


def because(text_id: str, **facts: Any) -> dict[str, Any]:
    return entry_texts.facts(text_id, **facts)


def _name(user: User | None) -> str:
    return user.get_username() if user is not None else "the system"


def _lock_incident(incident_id: int) -> None:
    """Lock the incident row first, as the incident's own actions and a claim do: every
    paging change that ends up on the incident (a timeline entry updates its row) takes
    its locks in the same order, incident → page → escalation, so none deadlocks."""
    Incident.objects.select_for_update().only("pk").get(pk=incident_id)


# A paging step to record: (incident, kind, text_id, by, facts), as ``_event`` takes them.
PagingNote = tuple[Incident, str, str, User | None, dict[str, Any]]


def _event(
    incident: Incident, kind: str, text_id: str, by: User | None = None, **facts: Any
) -> PagingEvent:
    """Record a paging step in the paging history and on the incident's timeline: its
    facts (``event_texts`` renders them for each reader) and its English text."""
    return _events([(incident, kind, text_id, by, facts)])[0]


def _events(notes: Sequence[PagingNote]) -> list[PagingEvent]:
    """``_event`` for many steps (of many incidents): one INSERT on the timelines, one
    in the paging history."""
    entries, history = [], []
    for incident, kind, text_id, by, facts in notes:
        data = entry_texts.facts(text_id, **facts)
        text = entry_texts.english(data)
        entries.append(
            incident_actions.AppEvent(
                incident, kind=EntryKind.PAGE, text=text, by=by, data={"step": kind, **data}
            )
        )
        history.append(PagingEvent(incident=incident, kind=kind, text=text[:300], by=by, data=data))
    incident_actions.record_app_events(entries)
    return PagingEvent.objects.bulk_create(history)


# Rosters -----------------------------------------------------------------------------


NEXT_HANDOFF: Final = "next_handoff"
NOW: Final = "now"
# When a rotation change takes effect: the next hand-off, now, or a later instant.
Effective = datetime | Literal["next_handoff", "now"]
ROTATION_SETTINGS = ("shift_length", "shift_unit", "handoff_time", "time_zone")
# The latest a change may be planned for: far enough for any real plan, near enough
# that the shift arithmetic stays far from the calendar's end.
FURTHEST_AHEAD = timedelta(days=2 * 366)


def _with_rotations(roster: Roster, *, lock: bool = False) -> Roster:
    """The roster with its rotation versions and their members loaded (oldest first)."""
    rosters = Roster.objects.select_for_update() if lock else Roster.objects.all()
    return rosters.prefetch_related(
        Prefetch("rotations", queryset=Rotation.objects.order_by("effective_from")),
        Prefetch("rotations__members", queryset=Participant.objects.select_related("user")),
    ).get(pk=roster.pk)


def why_roster_pages(roster: Roster) -> str | None:
    """Why paging relies on this roster having someone on call; None when it does not."""
    if roster.is_imoc:
        return gettext("the IMOC is paged when nobody else answers")
    if EscalationStep.objects.filter(roster=roster).exists():
        return gettext("it is a step of an escalation policy")
    if roster.team_id is not None and primary_roster(roster.team) == roster:
        return gettext("it pages its team's on-call incident manager")
    return None


def next_handoff(roster: Roster, at: datetime) -> datetime:
    """When a change saved at ``at`` takes effect by default: when the current turn ends;
    ``at`` itself when it is nobody's turn (no one to hand off from)."""
    return schedule.current_slot_end(_with_rotations(roster), at) or at


def _effective_instant(roster: Roster, effective: Effective, now: datetime) -> datetime:
    if effective == NEXT_HANDOFF:
        return schedule.current_slot_end(roster, now) or now
    if effective == NOW:
        return now
    if not isinstance(effective, datetime):
        raise ActionRefused(
            gettext("Choose the next hand-off, now, or a date and time."), field="effective"
        )
    if effective < now:
        raise ActionRefused(
            gettext("Choose now or a later time: shifts already worked do not change."),
            field="effective_at",
        )
    if effective - now > FURTHEST_AHEAD:
        raise ActionRefused(
            gettext("Choose a time within two years from now; plan later changes nearer the time."),
            field="effective_at",
        )
    return effective


def _first_handoff(
    previous: Rotation | None, effective_from: datetime, handoff: time, step: timedelta, zone: str
) -> datetime:
    """Where the new version counts its shifts from (local): the last hand-off at the
    new time at or before ``effective_from``, so its first shift (from ``effective_from``)
    ends at the first new hand-off after it. Found from the day the turn in force at
    ``effective_from`` began, moved by whole shifts; unchanged settings keep the same
    hand-offs."""
    since = effective_from
    if previous is not None:
        since, _ = schedule.shift_bounds(previous, schedule.shift_index(previous, effective_from))
    start = datetime.combine(schedule.local(zone, since).date(), handoff)
    wall = schedule.local(zone, effective_from)
    while start + step <= wall:
        start += step
    while start > wall:
        start -= step
    return start


@transaction.atomic
def change_rotation(
    roster: Roster,
    *,
    by: User | None,
    effective: Effective = NEXT_HANDOFF,
    participants: Sequence[User] | None = None,
    **settings: Any,
) -> Rotation:
    """Change who takes turns (in order) and how (hand-off time, shift length, time
    zone) from ``effective``: a new rotation version. Shifts before it never change.

    The new order's first person takes over at that instant; versions saved for later
    instants are replaced. A roster that paging relies on keeps at least one person.
    """
    unknown = set(settings) - set(ROTATION_SETTINGS)
    if unknown:
        raise ActionRefused(
            gettext("%(field)s cannot be changed here.") % {"field": min(unknown)},
            field=min(unknown),
        )
    current = _with_rotations(roster, lock=True)
    versions = schedule.rotations(current)
    keep = participants is None
    if participants is None:
        participants = schedule.members(versions[-1]) if versions else []
    users = list(participants)
    if len({user.pk for user in users}) != len(users):
        raise ActionRefused(
            gettext("Each person takes one place in the rotation."), field="participants"
        )
    # Only a change of people can leave the roster with nobody.
    why = why_roster_pages(current) if not users and not keep else None
    if why is not None:
        raise ActionRefused(
            gettext(
                "%(roster)s cannot be left with nobody on call: %(why)s. "
                "Keep at least one person in its rotation."
            )
            % {"roster": current.name, "why": why},
            field="participants",
        )
    for field, value in settings.items():
        setattr(current, field, value)
    current.full_clean(exclude=["team", "slug", "feed_token", "name"])
    now = timezone.now()
    try:
        effective_from = _effective_instant(current, effective, now)
        previous = schedule.in_force(
            [r for r in versions if r.effective_from < effective_from], effective_from
        )
        step = schedule.shift_length(current)
        first = _first_handoff(
            previous, effective_from, current.handoff_time, step, current.time_zone
        )
        schedule.to_utc(current.time_zone, first + step)  # the first shift's end exists
    except OverflowError:
        # Only near the calendar's end (year 9999): refused like any other bad time.
        raise ActionRefused(
            "That change would run past the end of the calendar; choose an earlier time.",
            field="effective_at" if isinstance(effective, datetime) else "effective",
        ) from None
    Rotation.objects.filter(roster=current, effective_from__gte=effective_from).delete()
    rotation = Rotation.objects.create(
        roster=current,
        effective_from=effective_from,
        start_date=first.date(),
        handoff_time=first.time(),
        shift_length=current.shift_length,
        shift_unit=current.shift_unit,
        time_zone=current.time_zone,
        created_by=by,
    )
    Participant.objects.bulk_create(
        Participant(roster=current, rotation=rotation, user=user, position=index)
        for index, user in enumerate(users)
    )
    # The roster's own fields show the rotation as last saved.
    current.save(update_fields=list(ROTATION_SETTINGS))
    return rotation


@transaction.atomic
def create_roster(
    *,
    slug: str,
    name: str,
    team: Team | None,
    by: User | None,
    participants: Sequence[User] = (),
    shift_length: int = 1,
    shift_unit: str = ShiftUnit.WEEKS,
    handoff_time: time = time(9, 0),
    start_date: date | None = None,
    time_zone: str = "UTC",
) -> Roster:
    """A new roster whose first rotation version starts at its first hand-off."""
    roster = Roster(
        slug=slug,
        name=name,
        team=team,
        shift_length=shift_length,
        shift_unit=shift_unit,
        handoff_time=handoff_time,
        start_date=start_date or timezone.localdate(),
        time_zone=time_zone,
    )
    roster.full_clean(exclude=["feed_token"])
    roster.save()
    rotation = Rotation.objects.create(
        roster=roster,
        effective_from=schedule.to_utc(
            time_zone, datetime.combine(roster.start_date, handoff_time)
        ),
        start_date=roster.start_date,
        handoff_time=handoff_time,
        shift_length=shift_length,
        shift_unit=shift_unit,
        time_zone=time_zone,
        created_by=by,
    )
    Participant.objects.bulk_create(
        Participant(roster=roster, rotation=rotation, user=user, position=index)
        for index, user in enumerate(participants)
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
        raise ActionRefused(gettext("The override must end after it starts."), field="ends_at")
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
            gettext(
                "Overlaps the override of %(name)s from %(starts)s to %(ends)s UTC; "
                "change or remove that one first."
            )
            % {
                "name": clash.user.get_username(),
                "starts": f"{clash.starts_at:%Y-%m-%d %H:%M}",
                "ends": f"{clash.ends_at:%Y-%m-%d %H:%M}",
            },
            field="starts_at",
        )
    return Override.objects.create(
        roster=roster, user=user, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=by
    )


@transaction.atomic
def remove_override(override: Override, *, by: User) -> None:
    Override.objects.filter(pk=override.pk).delete()


@transaction.atomic
def update_roster(
    roster: Roster, *, by: User | None, effective: Effective = NEXT_HANDOFF, **fields: Any
) -> Roster:
    """Rename the roster, and change its shifts from ``effective`` (a new rotation
    version, see ``change_rotation``) when a shift setting differs."""
    allowed = {"name", *ROTATION_SETTINGS}
    unknown = set(fields) - allowed
    if unknown:
        raise ActionRefused(
            gettext("%(field)s cannot be changed here.") % {"field": min(unknown)},
            field=min(unknown),
        )
    current = Roster.objects.select_for_update().get(pk=roster.pk)
    if "name" in fields:
        current.name = fields.pop("name")
        current.full_clean(exclude=["team", "slug", "feed_token"])
        current.save(update_fields=["name"])
    changed = {f: v for f, v in fields.items() if getattr(current, f) != v}
    if changed:
        change_rotation(current, by=by, effective=effective, **changed)
        current.refresh_from_db()
    return current


@transaction.atomic
def add_contact_method(
    user: User, *, kind: str, target: str, secret: str = "", by: User
) -> ContactMethod:
    if kind not in ContactKind.values:
        raise ActionRefused(
            gettext("Choose e-mail, Slack-compatible or signed webhook."), field="kind"
        )
    method = ContactMethod(user=user, kind=kind, target=target.strip(), secret=secret)
    checker: Callable[[str], None] = (
        validate_email if kind == ContactKind.EMAIL else URLValidator(schemes=["http", "https"])
    )
    try:
        checker(method.target)
    except ValidationError:
        raise ActionRefused(
            gettext("Enter a valid address for this kind."), field="target"
        ) from None
    if ContactMethod.objects.filter(user=user, kind=kind, target=method.target).exists():
        raise ActionRefused(gettext("You already have this contact method."), field="target")
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
    return Roster.objects.active().filter(team=team).order_by("pk").first()


def on_call_now(roster: Roster | None) -> User | None:
    # An archived roster pages nobody (it stays only as history).
    if roster is None or roster.is_archived:
        return None
    return schedule.on_call(roster, timezone.now())


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
    page = Page(
        incident=incident,
        user=user,
        address=address,
        roster=roster,
        reason=reason,
        message=message,
        created_by=by,
    )
    return _pages([page])[0]


def _pages(pages: Sequence[Page]) -> list[Page]:
    """Write the pages in one INSERT, each woken after commit."""
    created = Page.objects.bulk_create(pages)
    # Being paged involves them: they may open the incident even when restricted.
    incident_actions.involve_many(
        [(page.incident, page.user) for page in created if page.user is not None], reason="paged"
    )
    for page in created:
        _enqueue(page)
    return created


def _page_roster(
    incident: Incident, roster: Roster | None, *, reason: str, by: User | None, message: str = ""
) -> Page | None:
    """Page whoever is on call for ``roster`` now; record it when nobody is."""
    person = on_call_now(roster)
    if person is None:
        _events([_nobody(incident, roster, by)])
        return None
    page = _page(incident, reason=reason, user=person, roster=roster, message=message, by=by)
    _events([_paged(incident, person, roster, reason, by)])
    return page


def _first_wait(steps: Sequence[plan.PlannedStep]) -> timedelta:
    if steps:
        return timedelta(minutes=steps[0].wait_minutes)
    return timedelta(minutes=settings.ONCALL_IMOC_AFTER_MINUTES)


def _page_step(incident: Incident, step: plan.PlannedStep, number: int) -> bool:
    """Page what one planned step names; False (recorded) when it reached nobody, so
    the escalation moves on to the next step."""
    if step.kind == StepKind.USER:
        person = (
            User.objects.filter(pk=step.user_id, is_active=True).first()
            if step.user_id is not None
            else None
        )
        if person is None:
            _event(
                incident,
                EventKind.NOBODY,
                "paging.step_gone_person",
                number=number,
                target=step.label,
            )
            return False
        _page(incident, reason=PageReason.ESCALATION, user=person)
        _event(incident, EventKind.STEP, "paging.step_paged", number=number, person=_name(person))
        return True
    if step.kind == StepKind.TEAM:
        members = list(User.objects.filter(teams=step.team_id, is_active=True).order_by("username"))
        if not members:
            _event(
                incident,
                EventKind.NOBODY,
                "paging.step_no_members",
                number=number,
                target=step.label,
            )
            return False
        for person in members:
            _page(incident, reason=PageReason.ESCALATION, user=person)
        _event(
            incident,
            EventKind.STEP,
            "paging.step_paged_team",
            number=number,
            target=step.label,
            people=[_name(person) for person in members],
        )
        return True
    if step.kind == StepKind.IMOC:
        return _page_roster(incident, imoc_roster(), reason=PageReason.IMOC, by=None) is not None
    roster = Roster.objects.filter(pk=step.roster_id).first() if step.roster_id else None
    if roster is None:
        _event(
            incident,
            EventKind.NOBODY,
            "paging.step_gone_roster",
            number=number,
            target=step.label,
        )
        return False
    return _page_roster(incident, roster, reason=PageReason.ESCALATION, by=None) is not None


@transaction.atomic
def start_escalations(incidents: Sequence[Incident], *, by: User | None) -> None:
    """Page the on-call IM of each incident's faulty service's team (or the IMOC) and
    start its clock (``Escalation.next_escalation_at``), restarting one that had stopped.
    For an alert batch's new incidents at once: each team's policy, roster and on-call
    person are read once, and the escalations, pages and paging steps written in one
    INSERT each, whatever the number of incidents."""
    now = timezone.now()
    teams: dict[int | None, tuple[EscalationPolicy | None, plan.Plan, Roster | None]] = {}
    on_call: dict[int, User | None] = {}

    def person_for(roster: Roster | None) -> User | None:
        if roster is None:
            return None
        if roster.pk not in on_call:
            on_call[roster.pk] = on_call_now(roster)
        return on_call[roster.pk]

    escalations, pages, notes = [], [], list[PagingNote]()
    imoc: list[Roster | None] = []
    for incident in incidents:
        team = incident.faulty_service.team
        team_id = team.pk if team else None
        if team_id not in teams:
            policy = EscalationPolicy.objects.filter(team=team).first() if team else None
            # Frozen now: editing the policy later changes no escalation in flight.
            teams[team_id] = (policy, plan.of_policy(policy), primary_roster(team))
        policy, frozen, roster = teams[team_id]
        escalations.append(
            Escalation(
                incident=incident,
                policy=policy,
                plan=frozen.to_json(),
                state=EscalationState.ACTIVE,
                fired=0,
                started_at=now,
                next_escalation_at=now + _first_wait(frozen.steps),
            )
        )
        notes.append(
            (incident, EventKind.STARTED, "paging.started", by, {"severity": incident.severity})
        )
        reason, person = PageReason.INCIDENT, person_for(roster)
        if person is None:
            if roster is not None:
                notes.append(_nobody(incident, roster, by))
            if not imoc:
                imoc.append(imoc_roster())
            reason, roster = PageReason.IMOC, imoc[0]
            person = person_for(roster)
        if person is None:
            notes.append(_nobody(incident, roster, by))
            continue
        pages.append(
            Page(incident=incident, user=person, roster=roster, reason=reason, created_by=by)
        )
        notes.append(_paged(incident, person, roster, reason, by))
    # Restarted in place when one had stopped (the severity lowered, then raised again).
    Escalation.objects.bulk_create(
        escalations,
        update_conflicts=True,
        unique_fields=["incident"],
        update_fields=[
            "policy",
            "plan",
            "state",
            "fired",
            "started_at",
            "next_escalation_at",
            "updated_at",
        ],
    )
    _pages(pages)
    _events(notes)


def _nobody(incident: Incident, roster: Roster | None, by: User | None) -> PagingNote:
    name = roster.name if roster else None
    return (incident, EventKind.NOBODY, "paging.nobody_on_call", by, {"roster": name})


def _paged(
    incident: Incident, person: User, roster: Roster | None, reason: str, by: User | None
) -> PagingNote:
    kind = EventKind.STEP if reason != PageReason.MANUAL else EventKind.MANUAL
    facts = {
        "person": person.get_username(),
        "reason": reason,
        "roster": roster.name,  # type: ignore[union-attr]  # someone on call: a roster
    }
    return (incident, kind, "paging.paged_roster", by, facts)


@transaction.atomic
def stop_escalation(incident: Incident, *, by: User | None, why: Why) -> int:
    """Stop the clock and cancel pages not yet delivered; returns how many were cancelled."""
    stopped = Escalation.objects.filter(incident=incident, state=EscalationState.ACTIVE).update(
        state=EscalationState.STOPPED, next_escalation_at=None, updated_at=timezone.now()
    )
    cancelled = Page.objects.filter(
        incident=incident, state=PageState.PENDING, reason__in=_ESCALATING_REASONS
    ).update(state=PageState.CANCELLED, claimed_until=None)
    if stopped or cancelled:
        _event(incident, EventKind.STOPPED, "paging.stopped", by, why=why)
    return cancelled


_ESCALATING_REASONS = (PageReason.INCIDENT, PageReason.ESCALATION, PageReason.IMOC)


def _fire(escalation: Escalation, now: datetime) -> None:
    """Page the next step (skipping steps with nobody on call) and set the next time.

    The next time counts from when this step was planned, not from this (maybe late)
    tick: a slow tick delays one step, never the whole escalation after it. After an
    outage (beat or workers down), when that next time would be due by the next tick,
    it counts from now instead: each person paged gets the step's whole wait, rather
    than one step firing every tick to catch up."""
    planned = escalation.next_escalation_at or now
    frozen = plan.of_escalation(escalation)
    steps, repeat = frozen.steps, frozen.repeat
    total = len(steps) * (repeat + 1)
    incident = escalation.incident
    while escalation.fired <= total:
        index = escalation.fired
        escalation.fired += 1
        if index < total:
            if _page_step(incident, steps[index % len(steps)], index + 1):
                break
        elif _page_roster(incident, imoc_roster(), reason=PageReason.IMOC, by=None):
            break
    if escalation.fired <= total:
        wait = timedelta(minutes=steps[escalation.fired % len(steps)].wait_minutes if steps else 0)
        tick = timedelta(seconds=settings.ONCALL_TICK_SECONDS)
        escalation.next_escalation_at = (
            planned + wait if planned + wait > now + tick else now + wait
        )
    else:
        escalation.state = EscalationState.EXHAUSTED
        escalation.next_escalation_at = None
    escalation.save(update_fields=["fired", "state", "next_escalation_at", "updated_at"])


def run_due_escalations(*, limit: int = 100) -> int:
    """Fire every escalation whose time has come; safe to run on many workers at once."""
    fired = 0
    with transaction.atomic():
        now = timezone.now()
        # The incident is locked too, skipped when an action holds it (a claim, a
        # resolve): firing waits for the next tick instead of deadlocking with it.
        due = (
            Escalation.objects.select_for_update(skip_locked=True, of=("self", "incident"))
            .select_related("incident", "policy")
            .filter(state=EscalationState.ACTIVE, next_escalation_at__lte=now)
            .order_by("next_escalation_at")[:limit]
        )
        for escalation in due:
            _fire(escalation, now)
            fired += 1
    return fired


@transaction.atomic
def escalate_now(incident: Incident) -> bool:
    """A page reached nobody: the next step fires now instead of after its wait."""
    updated = Escalation.objects.filter(incident=incident, state=EscalationState.ACTIVE).update(
        next_escalation_at=timezone.now()
    )
    if updated:
        from .tasks import escalate

        transaction.on_commit(escalate.delay, robust=True)
    return bool(updated)


@transaction.atomic
def acknowledge_escalation(incident: Incident, *, by: User, why: Why) -> None:
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
        acknowledge_page(page, by=by, why=why)
    elif Escalation.objects.filter(incident=incident, state=EscalationState.ACTIVE).exists():
        stop_escalation(incident, by=by, why=why)


@transaction.atomic
def acknowledge_page(page: Page, *, by: User, why: Why = "") -> Page:
    """Stop the escalation of the page's incident. It does not claim the incident."""
    # Lock as the incident's actions do, the incident before its pages: a claim that
    # acknowledges this page at the same moment then queues behind us, no deadlock.
    _lock_incident(page.incident_id)
    current = Page.objects.select_for_update().select_related("incident").get(pk=page.pk)
    if current.state == PageState.ACKNOWLEDGED:
        return current
    if current.state == PageState.CANCELLED:
        raise ActionRefused(gettext("This page was cancelled: its escalation had stopped."))
    now = timezone.now()
    current.state = PageState.ACKNOWLEDGED
    current.acknowledged_at = now
    current.acknowledged_by = by
    current.claimed_until = None
    current.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "claimed_until"])
    # The escalation is answered: its earlier pages still retrying stop too (pages
    # before the escalation, in the lock order).
    others = (
        Page.objects.filter(
            incident=current.incident, state=PageState.PENDING, reason__in=_ESCALATING_REASONS
        )
        .exclude(pk=current.pk)
        .update(state=PageState.CANCELLED, claimed_until=None)
    )
    Escalation.objects.filter(incident=current.incident, state=EscalationState.ACTIVE).update(
        state=EscalationState.ACKNOWLEDGED, next_escalation_at=None, updated_at=now
    )
    _event(
        current.incident,
        EventKind.ACKNOWLEDGED,
        "paging.acknowledged",
        by,
        who=_name(by),
        why=why,
        cancelled=others,
    )
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
        raise ActionRefused(gettext("Choose a roster or a person to page."), field="roster")
    if not message.strip():
        raise ActionRefused(gettext("Say why you page them."), field="message")
    if user is not None:
        page = _page(incident, reason=PageReason.MANUAL, user=user, message=message, by=by)
        _event(
            incident,
            EventKind.MANUAL,
            "paging.manual",
            by,
            who=_name(by),
            person=_name(user),
            message=message,
        )
        return page
    paged = _page_roster(incident, roster, reason=PageReason.MANUAL, by=by, message=message)
    if paged is None:
        raise ActionRefused(
            gettext("Nobody is on call for %(roster)s right now.") % {"roster": roster},
            field="roster",
        )
    return paged


# Delivery bookkeeping (the sending itself is in delivery.py) ----------------------------


def renew_lease(page_id: int, attempt: int) -> bool:
    """The delivery's heartbeat: the worker of attempt ``attempt`` still holds the page."""
    lease = timedelta(seconds=settings.ONCALL_DELIVERY_LEASE_SECONDS)
    return bool(
        Page.objects.filter(
            pk=page_id, state=PageState.PENDING, attempt_count=attempt, claimed_until__isnull=False
        ).update(claimed_until=timezone.now() + lease)
    )


@transaction.atomic
def record_attempt(
    page: Page,
    *,
    channel: str,
    target: str,
    number: int,
    ok: bool,
    result: str,
    gave_up: bool = False,
) -> DeliveryAttempt:
    """One try over one channel; a channel that gives up goes on the incident's timeline
    (the page may still be sent on another channel: this one is not silently lost).

    What people see names a webhook by its kind and host only: its URL is a credential
    (``shown_target``), kept on the attempt for the next try, never in a text."""
    gives_up = gave_up and not ok
    if gives_up:
        _lock_incident(page.incident_id)  # the timeline entry updates the incident
    shown = shown_target(channel, target)
    attempt = DeliveryAttempt.objects.create(
        page=page,
        channel=channel,
        target=target,
        number=number,
        ok=ok,
        result=without_target(channel, target, result)[:300],
        gave_up=gives_up,
    )
    if attempt.gave_up:
        _event(
            page.incident,
            EventKind.FAILED,
            "paging.gave_up",
            recipient=page.recipient,
            channel=channel,
            shown=shown,
            tries=number,
            result=attempt.result,
        )
    return attempt


def _held(page_id: int, number: int) -> QuerySet[Page]:
    """The page while attempt ``number`` still holds it: a worker whose lease ran out and
    was taken over (a later attempt) writes nothing."""
    return Page.objects.filter(pk=page_id, state=PageState.PENDING, attempt_count=number)


def mark_sent(page_id: int, *, number: int) -> bool:
    """Every channel is settled and at least one accepted the page."""
    return bool(
        _held(page_id, number).update(
            state=PageState.SENT, sent_at=timezone.now(), claimed_until=None
        )
    )


def schedule_retry(page_id: int, delay: float, *, number: int) -> bool:
    """Give the page back, due again in ``delay`` seconds: the sweep re-enqueues it."""
    return bool(
        _held(page_id, number).update(
            claimed_until=None, next_attempt_at=timezone.now() + timedelta(seconds=delay)
        )
    )


def _settle(page_id: int, number: int, state: str, text_id: str, why: Why) -> bool:
    """Fail or cancel the page held by attempt ``number``, with a paging history entry."""
    with transaction.atomic():
        page = Page.objects.select_related("incident", "user").get(pk=page_id)
        _lock_incident(page.incident_id)
        done = _held(page_id, number).update(state=state, claimed_until=None)
        if done:
            _event(page.incident, EventKind.FAILED, text_id, recipient=page.recipient, why=why)
    return bool(done)


def mark_failed(page_id: int, why: Why, *, number: int) -> bool:
    """No channel accepted the page and none is left to retry. The escalation moved on
    already, when the first try reached nobody (``page_reached_nobody``)."""
    return _settle(page_id, number, PageState.FAILED, "paging.failed", why)


def cancel_page(page_id: int, why: Why, *, number: int) -> bool:
    """Stop delivering the page (held by attempt ``number``): what it would send may no
    longer go to its recipient."""
    return _settle(page_id, number, PageState.CANCELLED, "paging.cancelled", why)


def page_reached_nobody(page_id: int) -> bool:
    """The page's first try with results was delivered on no channel: its escalation
    moves to the next step now instead of waiting out this one (the retries go on
    meanwhile). Only for the escalation's latest page, checked with the escalation
    locked (after the incident: the lock order): an older page's failure, or one
    racing the next step's page, must not skip a step."""
    with transaction.atomic():
        page = Page.objects.select_related("incident", "user").get(pk=page_id)
        if page.reason not in _ESCALATING_REASONS:
            return False
        _lock_incident(page.incident_id)
        escalation = (
            Escalation.objects.select_for_update()
            .filter(incident=page.incident_id, state=EscalationState.ACTIVE)
            .first()
        )
        if escalation is None:
            return False
        latest = (
            Page.objects.filter(incident=page.incident_id, reason__in=_ESCALATING_REASONS)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if latest != page.pk or not escalate_now(page.incident):
            return False
        _event(page.incident, EventKind.FAILED, "paging.reached_nobody", recipient=page.recipient)
    return True


def pending_pages_due(now: datetime, *, grace: timedelta = timedelta(0)) -> list[int]:
    """Pages a worker should be delivering and nobody holds, for the sweep to hand out:
    retries whose time has come, leases run out (a killed worker), and pages never tried
    ``grace`` after they were due (their wake-up at commit was lost). Rows another
    transaction has locked (an acknowledgement) are skipped, not waited for.

    Each page handed out is marked offered for one lease (``offered_until``; a claim
    clears it): while workers are backlogged, later sweeps do not queue it again."""
    lease = timedelta(seconds=settings.ONCALL_DELIVERY_LEASE_SECONDS)
    with transaction.atomic():
        due = list(
            Page.objects.offerable(now)
            .filter(Q(attempt_count__gt=0) | Q(next_attempt_at__lte=now - grace))
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:500]
        )
        Page.objects.filter(pk__in=due).update(offered_until=now + lease)
        return due


# Reacting to incidents ------------------------------------------------------------------


def _team_email(incident: Incident, by: User | None) -> None:
    team = incident.faulty_service.team
    if team is not None and team.email and incident.restricted:
        # A team address reaches people who are not involved: a restricted incident's
        # key and summary go only to people paged by name (who are then involved).
        _event(incident, EventKind.STEP, "paging.team_restricted", by, team=team.name)
        return
    if team is not None and team.email:
        _page(incident, reason=PageReason.TEAM_EMAIL, address=team.email, by=by)
        _event(
            incident, EventKind.STEP, "paging.team_emailed", by, team=team.name, email=team.email
        )


def on_incidents_created(batch: list[events.IncidentEvent]) -> None:
    """Severity 1-2 pages (the escalations of a batch of new incidents started together);
    severity 3 e-mails the team. One ``publish_many`` has one author for all."""
    major = [event.incident for event in batch if event.incident.severity in MAJOR]
    if major:
        start_escalations(major, by=batch[0].by)
    for event in batch:
        if event.incident.severity not in MAJOR:
            _team_email(event.incident, event.by)


@events.in_batches(on_incidents_created)
def on_incident_created(event: events.IncidentEvent) -> None:
    on_incidents_created([event])


def on_severity_changed(event: events.IncidentEvent) -> None:
    previous, now = event.data.get("previous"), event.incident.severity
    if now in MAJOR and previous not in MAJOR:
        start_escalations([event.incident], by=event.by)
    elif now not in MAJOR and previous in MAJOR:
        stop_escalation(
            event.incident, by=event.by, why=because("why.severity_lowered", severity=now)
        )


def on_assignee_changed(event: events.IncidentEvent) -> None:
    """The incident got its incident manager (claimed, or given to one): the escalation
    looking for one is acknowledged by whoever did it, so nobody is paged again."""
    assignee = event.incident.assignee
    if event.by is None or assignee is None or event.data.get("previous") is not None:
        return
    reason = (
        because("why.claimed")
        if assignee.pk == event.by.pk
        else because("why.given", person=_name(assignee))
    )
    acknowledge_escalation(event.incident, by=event.by, why=reason)


def on_status_changed(event: events.IncidentEvent) -> None:
    if event.incident.status in CLOSED_STATUSES:
        stop_escalation(event.incident, by=event.by, why=because("why.resolved"))
