"""Support cases (HANDBOOK §1): the desk's upserts, labelling by issue key, moves and
removals, each recorded in the case's label history and on the incidents' timelines."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from incidents import access, events
from incidents.actions import ActionRefused, _name, _say, _touch
from incidents.models import EntryKind, Incident
from incidents.support.models import LabelChange, SupportCase

CASE_FIELDS = ("customer_name", "organisation", "contact_email", "subject", "opened_at")

# References are separated by commas, semicolons or any whitespace (a pasted column).
_SEPARATORS = re.compile(r"[\s,;]+")


def normalize_reference(reference: str) -> str:
    """A case reference in its one stored form: sd-10231 and SD-10231 are one case, as
    hot-12 and HOT-12 are one incident. Stored upper-cased (migration 0017), so every
    lookup is a plain equality the unique index of ``reference`` serves, on PostgreSQL
    and SQLite alike."""
    return reference.strip().upper()


def parse_references(text: str | Iterable[str]) -> list[str]:
    """The distinct references in pasted text or a list, normalized, in the order given."""
    parts = _SEPARATORS.split(text) if isinstance(text, str) else [str(part) for part in text]
    seen: dict[str, None] = {}
    for part in parts:
        part = normalize_reference(part)
        if part:
            seen.setdefault(part, None)
    return list(seen)


@dataclass(frozen=True)
class Elsewhere:
    """A case labelled with another incident. ``key`` is that incident's key, or None
    when the person asking may not see it ("another incident")."""

    reference: str
    key: str | None

    @property
    def where(self) -> str:
        return self.key or "another incident"


@dataclass
class LabelResult:
    incident: Incident
    labelled: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    # Messages, one per reference refused (bulk labelling only; otherwise we raise).
    refused: list[str] = field(default_factory=list)
    # Labelled with another incident and left there: moving them needs ``move=True``.
    held: list[Elsewhere] = field(default_factory=list)
    # Where each moved case came from, in the order of ``moved``.
    moved_from: list[Elsewhere] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.labelled) + len(self.moved)


def incident_for_key(by: User, key: str) -> Incident:
    """The incident a typed or pasted key names, if ``by`` may see it. An unseen
    restricted incident is refused exactly like a missing one: no hint it exists."""
    normalized = access.normalize_key(key.replace(" ", ""))
    if not normalized:
        raise ActionRefused(_("Type the issue key, e.g. HOT-1234."), field="key")
    found = Incident.objects.visible_to(by).filter(key=normalized).first()
    if found is None:
        raise ActionRefused(
            _("No incident %(key)s that you can see.") % {"key": normalized}, field="key"
        )
    return found


class MoveNotConfirmed(ActionRefused):
    """Some cases are labelled with other incidents and ``move`` was not given; nothing
    was written. ``held`` names each case and, if the asker may see it, its incident."""

    def __init__(self, held: list[Elsewhere]):
        refs = ", ".join(f"{item.reference} ({item.where})" for item in held)
        super().__init__(
            f"Already labelled with another incident: {refs}. Confirm the move with move: true.",
            field="references",
            conflict=True,
        )
        self.held = held


class _Case(NamedTuple):
    """What labelling reads of a case: not a thousand model instances."""

    pk: int
    reference: str
    label_id: int | None


def _elsewhere(cases: Iterable[_Case], *, by: User) -> list[Elsewhere]:
    """Each case with the key of its incident, named only if ``by`` may see it."""
    cases = list(cases)
    ids = {case.label_id for case in cases if case.label_id}
    keys = dict(Incident.objects.visible_to(by).filter(pk__in=ids).values_list("pk", "key"))
    return [Elsewhere(case.reference, keys.get(case.label_id or 0)) for case in cases]


@transaction.atomic
def upsert_case(
    *, reference: str, by: User | None = None, **fields: Any
) -> tuple[SupportCase, bool]:
    """Create the case with this reference or update its details; the label is left alone."""
    reference = normalize_reference(reference)
    if not reference:
        raise ActionRefused(_("Give the case reference."), field="reference")
    unknown = set(fields) - set(CASE_FIELDS)
    if unknown:
        raise ActionRefused(_("%(fields)s cannot be set.") % {"fields": ", ".join(sorted(unknown))})
    case, created = SupportCase.objects.select_for_update().get_or_create(
        reference=reference, defaults=fields
    )
    if not created:
        changed = [name for name, value in fields.items() if getattr(case, name) != value]
        for name in changed:
            setattr(case, name, fields[name])
        if changed:
            case.save()
    return case, created


@transaction.atomic
def upsert_cases(
    rows: Iterable[dict[str, Any]], *, by: User | None = None
) -> tuple[list[SupportCase], bool]:
    """What the support desk sends in one request: every case, or none if one is
    refused. Returns the cases and whether any was new."""
    cases, created_any = [], False
    for row in rows:
        case, created = upsert_case(by=by, **row)
        cases.append(case)
        created_any |= created
    return cases, created_any


@transaction.atomic
def label_cases(
    *,
    key: str,
    references: str | Iterable[str],
    by: User,
    all_or_nothing: bool = True,
    move: bool = False,
    unconfirmed: Literal["hold", "refuse"] = "hold",
) -> LabelResult:
    """Label the cases with the incident ``key`` names.

    A case labelled with another incident moves only with ``move=True`` (the answer
    says from where, in ``moved_from``). Without it such cases are left where they are:
    ``unconfirmed="hold"`` labels the others and lists them in ``held`` for the person
    to confirm; ``unconfirmed="refuse"`` (the API) raises ``MoveNotConfirmed`` naming
    them and writes nothing.

    By default any unknown reference refuses the whole request, naming each, and nothing
    is written. Bulk labelling (``all_or_nothing=False``) labels what it can and lists the
    unknown references as refused. A bad key always refuses everything."""
    if not by.has_perm("incidents.label_case"):
        raise ActionRefused(_("You may not label support cases."))
    refs = parse_references(references)
    if not refs:
        raise ActionRefused(_("Give at least one case reference."), field="references")
    incident = incident_for_key(by, key)
    cases = {
        values[1]: _Case(*values)
        for values in SupportCase.objects.select_for_update()
        .filter(reference__in_array=refs)
        .values_list("pk", "reference", "label_id")
    }
    unknown = [ref for ref in refs if ref not in cases]
    result = LabelResult(incident=incident)
    if unknown and all_or_nothing:
        raise ActionRefused(
            ngettext(
                "Unknown case reference: %(references)s.",
                "Unknown case references: %(references)s.",
                len(unknown),
            )
            % {"references": ", ".join(unknown)},
            field="references",
        )
    result.refused = [f"{ref}: no such case." for ref in unknown]
    elsewhere = [
        case
        for ref in refs
        if (case := cases.get(ref)) is not None and case.label_id not in (None, incident.pk)
    ]
    if elsewhere and not move:
        result.held = _elsewhere(elsewhere, by=by)
        if unconfirmed == "refuse":
            raise MoveNotConfirmed(result.held)
    else:
        result.moved_from = _elsewhere(elsewhere, by=by)
    held = {item.reference for item in result.held}
    now = timezone.now()
    moved_from: dict[int, list[str]] = defaultdict(list)
    to_label = []
    for ref in refs:
        case = cases.get(ref)
        if case is None or ref in held:
            continue
        if case.label_id == incident.pk:
            result.already.append(ref)
            continue
        if case.label_id is None:
            result.labelled.append(ref)
        else:
            result.moved.append(ref)
            moved_from[case.label_id].append(ref)
        to_label.append(case.pk)
    if not to_label:
        return result
    _record_label_changes(to_label, to=incident, by=by, at=now)
    # A moved case has not heard about its new incident yet: it is followed up again.
    SupportCase.objects.filter(pk__in_array=to_label).update(
        label=incident, labelled_by=by, labelled_at=now, followed_up_at=None, updated_at=now
    )
    _say(
        incident,
        EntryKind.CASES,
        by,
        "cases.labelled",
        who=_name(by),
        key=incident.key,
        labelled=result.labelled,
        moved=result.moved,
    )
    _touch(incident)
    # Who sees the incident a case left may not see a restricted one it went to: the
    # entry there says where only when the destination is not restricted.
    destination = {} if incident.restricted else {"to": incident.key}
    for source in Incident.objects.filter(pk__in=list(moved_from)):
        refs_moved = moved_from[source.pk]
        _say(
            source,
            EntryKind.CASES,
            by,
            "cases.moved",
            who=_name(by),
            moved=refs_moved,
            **destination,
        )
        _touch(source)
    events.publish(events.CASES_LABELLED, incident, by=by, case_ids=to_label)
    return result


def _record_label_changes(case_ids: list[int], *, to: Incident, by: User, at: datetime) -> None:
    """One ``LabelChange`` per case, from the label it has now to ``to``: a single
    ``INSERT … SELECT``, run before the labels move. (Building and sending a model
    instance per case was most of the time it took to label a thousand cases.)"""
    quote = connection.ops.quote_name

    def column(model: type[models.Model], name: str) -> str:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field)  # not a reverse relation
        return quote(field.column)

    into = ", ".join(
        column(LabelChange, name) for name in ("case", "from_incident", "to_incident", "by", "at")
    )
    rows = (
        SupportCase.objects.filter(pk__in_array=case_ids)
        .order_by()
        .annotate(
            to_id=Value(to.pk, output_field=models.BigIntegerField()),
            by_id=Value(by.pk, output_field=models.BigIntegerField()),
            at=Value(at, output_field=models.DateTimeField()),
        )
        .values_list("pk", "label_id", "to_id", "by_id", "at")
    )
    select, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        # The table and column names from the models' ``_meta``; every value a parameter.
        cursor.execute(f"INSERT INTO {quote(LabelChange._meta.db_table)} ({into}) {select}", params)


@transaction.atomic
def remove_label(case: SupportCase, *, by: User) -> SupportCase:
    if not by.has_perm("incidents.label_case"):
        raise ActionRefused(_("You may not label support cases."))
    current = SupportCase.objects.select_for_update().get(pk=case.pk)
    if current.label_id is None:
        raise ActionRefused(_("%(reference)s has no label.") % {"reference": current.reference})
    incident = Incident.objects.get(pk=current.label_id)
    LabelChange.objects.create(case=current, from_incident=incident, to_incident=None, by=by)
    current.label = None
    current.labelled_by = None
    current.labelled_at = None
    current.followed_up_at = None
    current.save()
    _say(
        incident,
        EntryKind.CASES,
        by,
        "cases.removed",
        who=_name(by),
        key=incident.key,
        removed=[current.reference],
    )
    _touch(incident)
    return current


@transaction.atomic
def set_customer_follow_up(incident: Incident, *, enabled: bool, by: User) -> Incident:
    """Turn the resolve-time customer e-mail on or off for one incident (IM's call)."""
    current = Incident.objects.select_for_update().get(pk=incident.pk)
    if current.customer_follow_up == enabled:
        return current
    current.customer_follow_up = enabled
    current.save(update_fields=["customer_follow_up", "updated_at"])
    _say(
        current,
        EntryKind.CASES,
        by,
        "cases.follow_up",
        who=_name(by),
        follow_up=enabled,
    )
    return current


def mark_followed_up(case_ids: Iterable[int], *, at: datetime | None = None) -> None:
    """Called by the app that e-mails customers, in the transaction that queues the mails."""
    SupportCase.objects.filter(pk__in=list(case_ids)).update(followed_up_at=at or timezone.now())
