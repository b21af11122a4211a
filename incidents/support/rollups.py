"""The metrics' figures kept up to date at write time (HANDBOOK §10, issue 15).

Two tables, written in the transaction of every change that moves an incident's times,
severity, faulty service or restriction (the incident actions announce each one through
``incidents.events``; the handler here runs inside the action's transaction):

- ``IncidentFigures``: one row per incident, what it adds to the roll-ups (its cell and
  its durations). The next change subtracts exactly that, whatever changed meanwhile.
- ``MonthFigures``: one row per month (UTC, of the impact start, else the logging time)
  by severity by faulty service: the incidents, those with a start, and every TTD and TTR
  as a sorted list of microseconds. Sorted lists, not histograms: the page's medians
  and p90s are exact order statistics, and merging sorted runs is cheap.

Restricted incidents are in neither roll-up (they count only for the people who may see
them; the page reads them one by one). A cell row is locked while it changes, always in
key order, so concurrent changes of one month never lose a count and never deadlock.
``rebuild`` recomputes everything from the incidents (the migration's backfill and the
``rebuild_metrics`` command, after rows were written straight into the tables).
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save

from incidents import events
from incidents.models import Incident, Service, Team

# Fields that decide an incident's part in the figures: what ``rebuild`` reads.
FIELDS = (
    "pk",
    "restricted",
    "severity",
    "faulty_service_id",
    "impact_started_at",
    "detected_at",
    "impact_ended_at",
    "created_at",
)


class IncidentFigures(models.Model):
    """What one incident adds to ``MonthFigures``; no row while it adds nothing."""

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, primary_key=True, related_name="figures"
    )
    month = models.DateField()
    severity = models.PositiveSmallIntegerField()
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    started = models.BooleanField()
    ttd_us = models.BigIntegerField(null=True)
    ttr_us = models.BigIntegerField(null=True)

    class Meta:
        app_label = "incidents"

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.month:%Y-%m} sev {self.severity}"


class MonthFigures(models.Model):
    month = models.DateField()
    severity = models.PositiveSmallIntegerField()
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    incidents = models.PositiveIntegerField(default=0)
    started = models.PositiveIntegerField(default=0)
    # Sorted microseconds, packed (``pack``): exact order statistics by merging a
    # period's cells, read as bytes (decoding them as JSON text cost more than the rest).
    ttd = models.BinaryField(default=bytes)
    ttr = models.BinaryField(default=bytes)

    class Meta:
        app_label = "incidents"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "severity", "service"], name="month_figures_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} sev {self.severity} service {self.service_id}"


Cell = tuple[date, int, int]  # month, severity, service id


@dataclass(frozen=True)
class Part:
    """An incident's part in the roll-ups."""

    cell: Cell
    started: bool
    ttd_us: int | None
    ttr_us: int | None


def micros(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    delta = end - start
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def month_of(at: datetime) -> date:
    return at.astimezone(UTC).date().replace(day=1)


def part_of(
    *,
    restricted: bool,
    severity: int,
    faulty_service_id: int,
    impact_started_at: datetime | None,
    detected_at: datetime | None,
    impact_ended_at: datetime | None,
    created_at: datetime,
    **_: Any,
) -> Part | None:
    if restricted:
        return None
    return Part(
        cell=(month_of(impact_started_at or created_at), severity, faulty_service_id),
        started=impact_started_at is not None,
        ttd_us=micros(impact_started_at, detected_at),
        ttr_us=micros(impact_started_at, impact_ended_at),
    )


def _part_of_incident(incident: Incident) -> Part | None:
    return part_of(**{name: getattr(incident, name) for name in FIELDS if name != "pk"})


def _stored_part(row: IncidentFigures) -> Part:
    return Part(
        cell=(row.month, row.severity, row.service_id),
        started=row.started,
        ttd_us=row.ttd_us,
        ttr_us=row.ttr_us,
    )


def _cell_q(cell: Cell) -> Q:
    month, severity, service_id = cell
    return Q(month=month, severity=severity, service_id=service_id)


def pack(values: list[int]) -> bytes:
    """Signed 64-bit little-endian integers, whatever the machine's byte order."""
    packed = array("q", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack(data: bytes | memoryview) -> list[int]:
    packed = array("q")
    packed.frombytes(data)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist()


def _change(row: MonthFigures, part: Part, sign: int) -> None:
    row.incidents += sign
    row.started += sign * part.started
    for name, value in (("ttd", part.ttd_us), ("ttr", part.ttr_us)):
        if value is None:
            continue
        values = unpack(getattr(row, name))
        if sign > 0:
            insort(values, value)
        else:
            del values[bisect_left(values, value)]
        setattr(row, name, pack(values))


# Atomic on its own; inside an action no savepoint (an error fails the action anyway).
@transaction.atomic(savepoint=False)
def record(incident: Incident, *, created: bool = False) -> None:
    """Bring the roll-ups in line with the incident as saved (inside the change's
    transaction): subtract its stored part, add its new one. A new incident has none
    stored: four queries, on the path that turns alerts into incidents."""
    new = _part_of_incident(incident)
    stored = (
        None
        if created
        else IncidentFigures.objects.select_for_update().filter(pk=incident.pk).first()
    )
    old = _stored_part(stored) if stored is not None else None
    if old == new:
        return
    cells = sorted({part.cell for part in (old, new) if part is not None})
    if new is not None:
        # Make sure the new cell exists; a concurrent creator of it wins harmlessly.
        MonthFigures.objects.bulk_create(
            [MonthFigures(month=new.cell[0], severity=new.cell[1], service_id=new.cell[2])],
            ignore_conflicts=True,
        )
    # Locked in key order: two changes moving incidents between the same cells queue.
    condition = Q()
    for cell in cells:
        condition |= _cell_q(cell)
    rows = {
        (row.month, row.severity, row.service_id): row
        for row in MonthFigures.objects.select_for_update()
        .filter(condition)
        .order_by("month", "severity", "service_id")
    }
    if old is not None:
        _change(rows[old.cell], old, -1)
    if new is not None:
        _change(rows[new.cell], new, +1)
    for row in rows.values():
        row.save(update_fields=["incidents", "started", "ttd", "ttr"])
    if new is None:
        IncidentFigures.objects.filter(pk=incident.pk).delete()
        return
    figures = stored or IncidentFigures(incident_id=incident.pk)
    figures.month, figures.severity, figures.service_id = new.cell
    figures.started, figures.ttd_us, figures.ttr_us = new.started, new.ttd_us, new.ttr_us
    figures.save(force_insert=stored is None)


# The version of every figure the metrics page has shown: computed pages are cached
# under it (``metrics.page``). A random token, not a counter: a version lost from
# the cache is replaced by a new one, never by one already used.
VERSION_KEY = "metrics:version"


def version() -> str:
    return str(cache.get_or_set(VERSION_KEY, uuid4().hex, timeout=None))


def new_version() -> None:
    cache.set(VERSION_KEY, uuid4().hex, timeout=None)


def changed() -> None:
    """Forget the computed pages once the change commits. A page computed before then
    from the old rows is kept under the old version, so it is never shown again; a
    rolled-back change forgets nothing. ``robust``: a cache outage never turns a
    committed change into an error (nor stops the callbacks queued after this one)."""
    transaction.on_commit(new_version, robust=True)


def _renamed(**_: Any) -> None:
    changed()


def _on_event(event: events.IncidentEvent) -> None:
    record(event.incident, created=event.name == events.CREATED)
    # Any change may show: a summary or a severity in the list of missing times too.
    changed()


# The events after which an incident's times, severity, service or restriction may
# differ: creation, a status change (resolving sets the impact end, reopening clears
# it), a severity change and an edit.
WATCHED = (events.CREATED, events.STATUS_CHANGED, events.SEVERITY_CHANGED, events.UPDATED)


def subscribe() -> None:
    """Called from ``AppConfig.ready()``. Services and teams (names, a service's team)
    change in the admin without an action: forgetting computed pages is no domain
    logic, as for the support board's catalogue."""
    for name in WATCHED:
        events.subscribe(name, _on_event)
    for model in (Service, Team):
        post_save.connect(_renamed, sender=model, dispatch_uid=f"metrics-{model.__name__}")
        post_delete.connect(_renamed, sender=model, dispatch_uid=f"metrics-{model.__name__}-del")


def build(rows: Iterable[dict[str, Any]]) -> tuple[list[tuple[int, Part]], dict[Cell, Any]]:
    """Every incident's part and every cell, from the incidents' ``FIELDS``."""
    parts: list[tuple[int, Part]] = []
    cells: dict[Cell, dict[str, Any]] = {}
    for row in rows:
        part = part_of(**row)
        if part is None:
            continue
        parts.append((row["pk"], part))
        cell = cells.setdefault(part.cell, {"incidents": 0, "started": 0, "ttd": [], "ttr": []})
        cell["incidents"] += 1
        cell["started"] += part.started
        if part.ttd_us is not None:
            cell["ttd"].append(part.ttd_us)
        if part.ttr_us is not None:
            cell["ttr"].append(part.ttr_us)
    for cell in cells.values():
        cell["ttd"] = pack(sorted(cell["ttd"]))
        cell["ttr"] = pack(sorted(cell["ttr"]))
    return parts, cells


def rebuild(
    incident_model: Any = Incident,
    figures_model: Any = IncidentFigures,
    month_model: Any = MonthFigures,
) -> int:
    """Recompute both tables from the incidents; returns the cells written. The models
    are parameters so the migration's backfill runs it on its historical models."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Changes wait until the rebuild commits, then apply their difference to the
            # rebuilt rows: none is lost or counted twice.
            with connection.cursor() as cursor:
                for model in (figures_model, month_model):
                    cursor.execute(
                        f'LOCK TABLE "{model._meta.db_table}" IN SHARE ROW EXCLUSIVE MODE'
                    )
        figures_model.objects.all().delete()
        month_model.objects.all().delete()
        rows = incident_model.objects.order_by().values(*FIELDS).iterator(chunk_size=5000)
        parts, cells = build(rows)
        figures_model.objects.bulk_create(
            (
                figures_model(
                    incident_id=pk,
                    month=part.cell[0],
                    severity=part.cell[1],
                    service_id=part.cell[2],
                    started=part.started,
                    ttd_us=part.ttd_us,
                    ttr_us=part.ttr_us,
                )
                for pk, part in parts
            ),
            batch_size=5000,
        )
        month_model.objects.bulk_create(
            (
                month_model(month=month, severity=severity, service_id=service_id, **cell)
                for (month, severity, service_id), cell in cells.items()
            ),
            batch_size=1000,
        )
        changed()
    return len(cells)
