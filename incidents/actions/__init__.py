"""Every change to an incident: the only place that writes incident state.

Each action runs in one transaction, locks what it reads before writing, writes one
timeline entry per change and announces it through ``events`` for other apps.
"""

# ruff: noqa: E402  (the workspace modules at the end import the helpers defined here)
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from django.forms import BaseForm

from incidents import entry_texts, events
from incidents.models import (
    APP_KINDS,
    HUMAN_KINDS,
    OPEN_STATUSES,
    EntryKind,
    Experiment,
    Incident,
    IncidentChange,
    Involvement,
    KeyCounter,
    Product,
    Role,
    RoleAssignment,
    Service,
    Severity,
    Status,
    Theory,
    TimelineEntry,
)

# Where each status may go next. Resolved may reopen when the impact comes back.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.NEW: (Status.FIXING, Status.RESOLVED),
    Status.FIXING: (Status.RESOLVED,),
    Status.RESOLVED: (Status.FIXING, Status.REVIEWED),
    Status.REVIEWED: (),
}

# Clocks drift: a time a few minutes ahead is a typo-free "now", later is a mistake.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Nothing the portal handles happened before this.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

EDITABLE_FIELDS = (
    "summary",
    "description",
    "faulty_service",
    "affected_products",
    "chat_room",
    "video_url",
    "status_doc_url",
    "impact_started_at",
    "detected_at",
    "impact_ended_at",
    "restricted",
)


class ActionRefused(Exception):
    """The change is not allowed as asked; nothing was written.

    ``field`` names the input at fault, if one is; ``conflict`` marks a lost race
    (someone else changed the incident first).
    """

    def __init__(self, message: str, *, field: str | None = None, conflict: bool = False):
        super().__init__(message)
        self.message = message
        self.field = field
        self.conflict = conflict

    @property
    def status_code(self) -> int:
        """What every interface answers: 409 for a lost race, else 400."""
        return 409 if self.conflict else 400

    def add_to(self, form: BaseForm) -> None:
        """Show the refusal on the field it names, or above the form if it lacks it."""
        form.add_error(self.field if self.field in form.fields else None, self.message)


def _record(
    incident: Incident,
    kind: str,
    by: User | None,
    text: str,
    **data: Any,
) -> TimelineEntry:
    # Every change of an incident is recorded here: live boards poll a marker it moves.
    events.changed()
    return TimelineEntry.objects.create(
        incident=incident, kind=kind, author=by, text=text, data=data
    )


def _say(
    incident: Incident, kind: str, by: User | None, text_id: str, **facts: Any
) -> TimelineEntry:
    """Record an entry of a known shape: its facts, and its English text for search and
    for readers of old versions (``entry_texts``)."""
    data = entry_texts.facts(text_id, **facts)
    return _record(incident, kind, by, entry_texts.english(data), **data)


def _say_many(
    entries: Sequence[tuple[Incident, str, User | None, str, dict[str, Any]]],
) -> list[TimelineEntry]:
    """``_say`` for many incidents in one INSERT: (incident, kind, by, text_id, facts)."""
    events.changed()
    rows = []
    for incident, kind, by, text_id, facts in entries:
        data = entry_texts.facts(text_id, **facts)
        rows.append(
            TimelineEntry(
                incident=incident, kind=kind, author=by, text=entry_texts.english(data), data=data
            )
        )
    return TimelineEntry.objects.bulk_create(rows)


def _name(user: User | None) -> str:
    # Usernames, like chat handles: unique, and what people type to mention someone.
    return user.get_username() if user is not None else "nobody"


def check_time(value: datetime | None, *, field: str) -> None:
    """Refuse a time no incident could have: before 2000 (a typo; year 1 broke the pages
    that reckon around it with an OverflowError) or ahead of now by more than
    ``FUTURE_TOLERANCE``. Every action that takes a time asks here."""
    if value is None:
        return
    try:
        too_early, too_late = value < EARLIEST, value > timezone.now() + FUTURE_TOLERANCE
    except OverflowError:  # at the calendar's ends an offset leaves datetime's range
        too_early, too_late = value.year < EARLIEST.year, value.year >= EARLIEST.year
    if too_early:
        raise ActionRefused(_("This time is too far in the past (before 2000)."), field=field)
    if too_late:
        raise ActionRefused(_("This time is in the future."), field=field)


def _check_times(
    *,
    impact_started_at: datetime | None,
    detected_at: datetime | None,
    impact_ended_at: datetime | None,
) -> None:
    for field, value in (
        ("impact_started_at", impact_started_at),
        ("detected_at", detected_at),
        ("impact_ended_at", impact_ended_at),
    ):
        check_time(value, field=field)
    if impact_started_at is not None:
        if detected_at is not None and detected_at < impact_started_at:
            raise ActionRefused(
                _("Detection cannot come before the impact started."), field="detected_at"
            )
        if impact_ended_at is not None and impact_ended_at < impact_started_at:
            raise ActionRefused(
                _("The impact cannot end before it started."), field="impact_ended_at"
            )


def _take_numbers(prefix: str, count: int) -> int:
    """The first of ``count`` consecutive key numbers: the counter row stays locked until
    our transaction ends, so concurrent creations queue on it and never share or skip a
    number. Callers take it after every check, just before writing the incidents: the
    lock is held for those writes (a few bulk statements for a whole alert batch) and
    what follows them until commit, not for the work before them."""
    counters = KeyCounter.objects.filter(prefix=prefix)
    if not counters.update(last_number=F("last_number") + count):
        KeyCounter.objects.bulk_create([KeyCounter(prefix=prefix)], ignore_conflicts=True)
        counters.update(last_number=F("last_number") + count)
    return counters.values_list("last_number", flat=True).get() - count + 1


@dataclass(frozen=True)
class NewIncident:
    """What logging one incident takes (``create_incidents``)."""

    summary: str
    description: str
    severity: int
    faulty_service: Service
    affected_products: Iterable[Product] = ()
    restricted: bool = False
    impact_started_at: datetime | None = None
    detected_at: datetime | None = None
    chat_room: str = ""
    video_url: str = ""
    status_doc_url: str = ""


def _checked(new: NewIncident) -> NewIncident:
    """The incident as it will be stored: refused (``ActionRefused``) when it cannot be,
    its detection time filled in."""
    if new.severity not in Severity.values:
        raise ActionRefused(_("Choose severity 1, 2 or 3."), field="severity")
    _check_times(
        impact_started_at=new.impact_started_at, detected_at=new.detected_at, impact_ended_at=None
    )
    if new.detected_at is not None:
        return new
    # Logging the incident is the moment of detection unless told otherwise.
    detected_at = timezone.now()
    if new.impact_started_at is not None and new.impact_started_at > detected_at:
        raise ActionRefused(
            _("The impact cannot start after it was detected (now)."), field="impact_started_at"
        )
    return replace(new, detected_at=detected_at)


def create_incident(
    *,
    by: User,
    summary: str,
    description: str,
    severity: int,
    faulty_service: Service,
    affected_products: Iterable[Product] = (),
    restricted: bool = False,
    impact_started_at: datetime | None = None,
    detected_at: datetime | None = None,
    chat_room: str = "",
    video_url: str = "",
    status_doc_url: str = "",
) -> Incident:
    new = NewIncident(
        summary=summary,
        description=description,
        severity=severity,
        faulty_service=faulty_service,
        affected_products=affected_products,
        restricted=restricted,
        impact_started_at=impact_started_at,
        detected_at=detected_at,
        chat_room=chat_room,
        video_url=video_url,
        status_doc_url=status_doc_url,
    )
    return create_incidents([new], by=by)[0]


@transaction.atomic
def create_incidents(new: Sequence[NewIncident], *, by: User) -> list[Incident]:
    """Log incidents (one, or an alert batch's new ones) with consecutive keys, in their
    order. All are checked before anything is written, then written in a few statements
    whatever their number: the keys taken at once, then the incidents, their products and
    their "created" entries each in one INSERT, and the CREATED event published for all
    of them (``events.publish_many``: subscribers with a batch form write theirs in bulk
    too)."""
    checked = [_checked(one) for one in new]
    if not checked:
        return []
    prefix = settings.INCIDENT_KEY_PREFIX.upper()
    first = _take_numbers(prefix, len(checked))
    incidents = []
    for number, one in enumerate(checked, start=first):
        key = f"{prefix}-{number}"
        incidents.append(
            Incident(
                prefix=prefix,
                number=number,
                key=key,
                summary=one.summary,
                description=one.description,
                severity=one.severity,
                faulty_service=one.faulty_service,
                restricted=one.restricted,
                impact_started_at=one.impact_started_at,
                detected_at=one.detected_at,
                chat_room=one.chat_room or key,
                video_url=one.video_url,
                status_doc_url=one.status_doc_url,
                created_by=by,
            )
        )
    Incident.objects.bulk_create(incidents)
    Chosen = Incident.affected_products.through
    Chosen.objects.bulk_create(
        Chosen(incident_id=incident.pk, product_id=product_id)
        for incident, one in zip(incidents, checked, strict=True)
        for product_id in dict.fromkeys(product.pk for product in one.affected_products)
    )
    _say_many(
        [
            (
                incident,
                EntryKind.CREATED,
                by,
                "incident.created",
                {
                    "who": _name(by),
                    "key": incident.key,
                    "severity": incident.severity,
                    "service": incident.faulty_service.name,
                    "faulty_service": incident.faulty_service.slug,
                },
            )
            for incident in incidents
        ]
    )
    events.publish_many(events.CREATED, incidents, by=by)
    return incidents


@transaction.atomic
def claim_incident(incident: Incident, *, by: User) -> Incident:
    """Make ``by`` the incident manager and start fixing. Of two simultaneous claims the
    row lock lets exactly one through; the other then finds the incident taken."""
    # No join here: after waiting for the lock PostgreSQL re-reads the incident row but
    # not a joined one, so the assignee is loaded after the lock.
    current = Incident.objects.select_for_update().get(pk=incident.pk)
    if current.status not in OPEN_STATUSES:
        # It was open when the client saw it (every incident starts new): lost race.
        raise ActionRefused(_already(current), conflict=True)
    if current.assignee_id == by.pk:
        return current
    if current.assignee_id is not None:
        raise ActionRefused(
            _("%(key)s was already claimed by %(name)s.")
            % {"key": current.key, "name": _name(current.assignee)},
            conflict=True,
        )
    old = current.status
    current.assignee = by
    current.status = Status.FIXING
    current.save(update_fields=["assignee", "status", "updated_at"])
    _sync_manager_role(current, previous=None, by=by)
    _say(current, EntryKind.ASSIGNEE, by, "incident.claimed", who=_name(by), to=_name(by))
    events.publish(events.ASSIGNEE_CHANGED, current, by=by, previous=None)
    if old != current.status:
        _status_entry(current, by, old=old, new=current.status)
    return current


def _status_moved_by(incident: Incident) -> str:
    """Who moved the incident to its status: the name a lost race's refusal gives."""
    last = (
        TimelineEntry.objects.filter(incident=incident, kind=EntryKind.STATUS)
        .select_related("author")
        .order_by("-pk")
        .first()
    )
    return _name(last.author) if last is not None and last.author else _("someone else")


def _already(current: Incident) -> str:
    return _("%(key)s is already %(status)s (by %(name)s).") % {
        "key": current.key,
        "status": current.get_status_display().lower(),
        "name": _status_moved_by(current),
    }


def _transition_refused(current: Incident, to: str) -> ActionRefused:
    """Refuse a move the status no longer (or never) allows. If a status the incident
    held before allowed it, the client asked from that status and someone moved the
    incident first: a lost race, 409. A move no earlier status allowed is bad input."""
    earlier = {Status.NEW} | {
        data.get("from")
        for data in TimelineEntry.objects.filter(
            incident=current, kind=EntryKind.STATUS
        ).values_list("data", flat=True)
    }
    if any(to in TRANSITIONS.get(status, ()) for status in earlier):
        message = _already(current)
        if to != current.status:
            message = _(
                "%(key)s is already %(status)s (by %(name)s): it cannot go to %(to)s now."
            ) % {
                "key": current.key,
                "status": current.get_status_display().lower(),
                "name": _status_moved_by(current),
                "to": Status(to).label.lower(),
            }
        return ActionRefused(message, conflict=True)
    if to == current.status:
        return ActionRefused(
            _("%(key)s is already %(status)s.")
            % {"key": current.key, "status": Status(to).label.lower()},
            field="to",
        )
    allowed = ", ".join(Status(s).label.lower() for s in TRANSITIONS[current.status])
    return ActionRefused(
        _("%(key)s cannot go from %(status)s to %(to)s (allowed: %(allowed)s).")
        % {
            "key": current.key,
            "status": current.get_status_display().lower(),
            "to": Status(to).label.lower(),
            "allowed": allowed or _("none"),
        },
        field="to",
    )


def _status_entry(incident: Incident, by: User | None, *, old: str, new: str) -> None:
    _say(incident, EntryKind.STATUS, by, "incident.status", **{"from": old, "to": new})
    events.publish(events.STATUS_CHANGED, incident, by=by, previous=old)


@transaction.atomic
def transition_incident(
    incident: Incident,
    *,
    to: str,
    by: User,
    impact_ended_at: datetime | None = None,
) -> Incident:
    current = Incident.objects.select_for_update().get(pk=incident.pk)
    if to not in Status.values:
        raise ActionRefused(_("Unknown status %(to)r.") % {"to": to}, field="to")
    if to not in TRANSITIONS[current.status]:
        raise _transition_refused(current, to)
    if to == Status.FIXING and current.assignee_id is None:
        raise ActionRefused(
            _("An incident manager must claim the incident before fixing starts."), field="to"
        )
    fields = ["status", "updated_at"]
    if to == Status.RESOLVED:
        ended = impact_ended_at or current.impact_ended_at
        if ended is None:
            raise ActionRefused(
                _("Say when the impact ended before resolving."), field="impact_ended_at"
            )
        _check_times(
            impact_started_at=current.impact_started_at,
            detected_at=current.detected_at,
            impact_ended_at=ended,
        )
        current.impact_ended_at = ended
        fields.append("impact_ended_at")
    elif to == Status.FIXING and current.impact_ended_at is not None:
        # Reopened: the impact is back, so the old end would give a wrong TTR.
        current.impact_ended_at = None
        fields.append("impact_ended_at")
    old = current.status
    current.status = to
    current.save(update_fields=fields)
    _status_entry(current, by, old=old, new=to)
    return current


@transaction.atomic
def change_severity(
    incident: Incident,
    *,
    severity: int,
    by: User,
    reason: str = "",
    alert: tuple[str, str] | None = None,
) -> Incident:
    """``reason`` is a person's words, kept as written; ``alert`` is what a monitoring
    tool reported (its dedup key, its level), said in each reader's language."""
    current = Incident.objects.select_for_update().get(pk=incident.pk)
    if severity not in Severity.values:
        raise ActionRefused(_("Choose severity 1, 2 or 3."), field="severity")
    if severity == current.severity:
        return current
    old = current.severity
    current.severity = severity
    current.save(update_fields=["severity", "updated_at"])
    _say(
        current,
        EntryKind.SEVERITY,
        by,
        "incident.severity",
        reason=reason,
        **({"alert": alert[0], "reports": alert[1]} if alert else {}),
        **{"from": old, "to": severity},
    )
    events.publish(events.SEVERITY_CHANGED, current, by=by, previous=old)
    return current


@transaction.atomic
def assign_incident(incident: Incident, *, assignee: User | None, by: User) -> Incident:
    """Hand the incident to another incident manager, or release it (``None``)."""
    current = Incident.objects.select_for_update().get(pk=incident.pk)  # no join: see claim
    if assignee is not None and not assignee.has_perm("incidents.claim_incident"):
        raise ActionRefused(
            _("%(name)s is not an incident manager.") % {"name": _name(assignee)},
            field="assignee",
        )
    if current.assignee_id == (assignee.pk if assignee else None):
        return current
    previous = current.assignee
    current.assignee = assignee
    current.save(update_fields=["assignee", "updated_at"])
    _sync_manager_role(current, previous=previous, by=by)
    _say(
        current,
        EntryKind.ASSIGNEE,
        by,
        "incident.handed" if assignee else "incident.released",
        who=_name(by),
        **{
            "from": _name(previous) if previous else None,
            "to": _name(assignee) if assignee else None,
        },
    )
    events.publish(events.ASSIGNEE_CHANGED, current, by=by, previous=previous)
    return current


@transaction.atomic
def update_incident(incident: Incident, *, by: User, **changes: Any) -> Incident:
    """Change descriptive fields; severity and assignee go through their own actions."""
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"severity", "assignee"}
    if unknown:
        raise ActionRefused(
            _("%(fields)s cannot be edited.") % {"fields": ", ".join(sorted(unknown))}
        )
    current = Incident.objects.select_for_update().get(pk=incident.pk)
    if "severity" in changes:
        current = change_severity(current, severity=changes.pop("severity"), by=by)
    if "assignee" in changes:
        current = assign_incident(current, assignee=changes.pop("assignee"), by=by)
    products = changes.pop("affected_products", None)
    times = {
        name: changes.get(name, getattr(current, name))
        for name in ("impact_started_at", "detected_at", "impact_ended_at")
    }
    _check_times(**times)
    if times["impact_ended_at"] is None and current.status not in OPEN_STATUSES:
        raise ActionRefused(
            _("A resolved incident keeps its impact-ended time."), field="impact_ended_at"
        )
    changed = sorted(name for name, value in changes.items() if getattr(current, name) != value)
    for name in changed:
        setattr(current, name, changes[name])
    if products is not None and set(products) != set(current.affected_products.all()):
        current.affected_products.set(products)
        changed.append("affected_products")
    if not changed:
        return current
    current.save()
    _say(current, EntryKind.EDITED, by, "incident.edited", who=_name(by), fields=changed)
    events.publish(events.UPDATED, current, by=by, fields=changed)
    return current


@transaction.atomic
def add_timeline_entry(
    incident: Incident,
    *,
    kind: str,
    text: str,
    by: User,
    occurred_at: datetime | None = None,
    how: str = "",
    why: str = "",
    undo: str = "",
    theory: Theory | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    """Log what happened. A change also gets its row in the changes table (with how,
    why and how to undo it), a theory its verdict, an experiment the theory it tests.
    ``data`` carries the facts of a text the portal wrote for the person (a shape of
    ``entry_texts``), so readers see it in their language until the author edits it.

    Each writer inserts its own rows and never rewrites a shared one, so people adding
    at once lose nothing (the incident's ``updated_at`` is a plain UPDATE, not a
    read-modify-write)."""
    if kind not in HUMAN_KINDS:
        choices = ", ".join(HUMAN_KINDS)
        raise ActionRefused(_("Choose a kind: %(choices)s.") % {"choices": choices}, field="kind")
    text = text.strip()
    if not text:
        raise ActionRefused(_("Write what happened."), field="text")
    check_time(occurred_at, field="occurred_at")
    if theory is not None and (kind != EntryKind.EXPERIMENT or theory.incident_id != incident.pk):
        raise ActionRefused(_("Link an experiment to a theory of this incident."), field="theory")
    entry = TimelineEntry.objects.create(
        incident=incident,
        kind=kind,
        text=text,
        author=by,
        occurred_at=occurred_at or timezone.now(),
        data=data or {},
    )
    if kind == EntryKind.CHANGE:
        IncidentChange.objects.create(
            entry=entry, incident=incident, how=how.strip(), why=why.strip(), undo=undo.strip()
        )
    elif kind == EntryKind.THEORY:
        Theory.objects.create(entry=entry, incident=incident)
    elif kind == EntryKind.EXPERIMENT:
        Experiment.objects.create(entry=entry, incident=incident, theory=theory)
    # Touch the incident so change markers (lists, dashboards) see the new entry.
    _touch(incident)
    return entry


def _sync_manager_role(incident: Incident, *, previous: User | None, by: User | None) -> None:
    """Keep the IM role in step with the assignee: the old one's role ends, the new
    one's starts. Called by the actions that change the assignee, inside their lock."""
    now = timezone.now()
    if previous is not None:
        RoleAssignment.objects.current().filter(
            incident=incident, person=previous, role=Role.INCIDENT_MANAGER
        ).update(ended_at=now, ended_by=by)
    if incident.assignee is not None:
        held = RoleAssignment.objects.current().filter(
            incident=incident, person=incident.assignee, role=Role.INCIDENT_MANAGER
        )
        if not held.exists():
            RoleAssignment.objects.create(
                incident=incident,
                person=incident.assignee,
                role=Role.INCIDENT_MANAGER,
                started_at=now,
                assigned_by=by,
            )


def record_app_event(
    incident: Incident, *, kind: str, text: str, by: User | None = None, **data: Any
) -> TimelineEntry:
    """Put what another app did (a page sent, a communication published) on the timeline.

    ``oncall`` and ``comms`` call this instead of writing timeline rows themselves; the
    entry is a system entry, so nobody edits it as their own.
    """
    return record_app_events([AppEvent(incident, kind=kind, text=text, by=by, data=data)])[0]


@dataclass(frozen=True)
class AppEvent:
    """One entry ``record_app_events`` writes."""

    incident: Incident
    kind: str
    text: str
    by: User | None
    data: dict[str, Any]


@transaction.atomic
def record_app_events(entries: Sequence[AppEvent]) -> list[TimelineEntry]:
    """``record_app_event`` for many entries (of many incidents) in one INSERT, their
    incidents touched in one UPDATE: paging a batch of new incidents at once."""
    for entry in entries:
        if entry.kind not in APP_KINDS:
            raise ActionRefused(
                _("Apps write %(kinds)s entries only.") % {"kinds": ", ".join(APP_KINDS)},
                field="kind",
            )
    if not entries:
        return []
    events.changed()
    rows = TimelineEntry.objects.bulk_create(
        TimelineEntry(
            incident=entry.incident,
            kind=entry.kind,
            author=entry.by,
            text=entry.text,
            data=entry.data,
        )
        for entry in entries
    )
    _touch(*{entry.incident.pk: entry.incident for entry in entries}.values())
    return rows


def involve(incident: Incident, *, person: User, reason: str) -> None:
    """Make ``person`` one of the people involved (paged for it, owning one of its
    tasks), who see the incident even when it is restricted. Idempotent; the change
    that involved them (the page, the task) is what the timeline records."""
    involve_many([(incident, person)], reason=reason)


def involve_many(pairs: Iterable[tuple[Incident, User]], *, reason: str) -> None:
    """``involve`` for many (incident, person) pairs in one INSERT."""
    Involvement.objects.bulk_create(
        [
            Involvement(incident=incident, person=person, reason=reason)
            for incident, person in pairs
        ],
        ignore_conflicts=True,
    )


def _touch(*incidents: Incident) -> None:
    Incident.objects.filter(pk__in=[incident.pk for incident in incidents]).update(
        updated_at=timezone.now()
    )
    events.changed()


# Delegating roles lives in its own module. It imports the helpers above, so it is
# imported last, and re-exported so every caller writes ``actions.assign_role(...)``.
from incidents.actions.roles import assign_role, hand_over_role, release_role

__all__ = [
    "EDITABLE_FIELDS",
    "FUTURE_TOLERANCE",
    "TRANSITIONS",
    "ActionRefused",
    "AppEvent",
    "NewIncident",
    "add_timeline_entry",
    "assign_incident",
    "assign_role",
    "change_severity",
    "check_time",
    "claim_incident",
    "create_incident",
    "create_incidents",
    "hand_over_role",
    "involve",
    "involve_many",
    "record_app_event",
    "record_app_events",
    "release_role",
    "transition_incident",
    "update_incident",
]
