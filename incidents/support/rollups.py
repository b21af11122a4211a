"""The metrics' figures kept up to date at write time (HANDBOOK §10, issue 15).

``IncidentFigures``: one row per unrestricted incident, its month (UTC, of the impact
start, else the logging time), severity, faulty service and its TTD and TTR in
microseconds, written in the transaction of every change that moves those (the incident
actions announce each one through ``incidents.events``). The metrics page reads these
rows, never recomputing durations from the incidents' times.

Each change writes only its own incident's row, which the action already holds: no row
shared between incidents is locked. Monthly roll-up rows were tried and dropped: a cell
locked until commit serialised every change of a month, and an alert batch that locked a
cell and then an incident deadlocked against a person changing that incident.

Restricted incidents have no row (they count only for the people who may see them; the
page reads them one by one). ``rebuild`` recomputes every row from the incidents (the
migration's backfill and the ``rebuild_metrics`` command, after rows were written
straight into the tables).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

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
    """What one incident adds to the metrics; no row while it adds nothing (restricted)."""

    incident = models.OneToOneField(
        Incident,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="figures",
        verbose_name=_("incident"),
    )
    month = models.DateField(verbose_name=_("month"))
    severity = models.PositiveSmallIntegerField(verbose_name=_("severity"))
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="+", verbose_name=_("service")
    )
    started = models.BooleanField(verbose_name=_("started"))
    ttd_us = models.BigIntegerField(null=True, verbose_name=_("TTD in microseconds"))
    ttr_us = models.BigIntegerField(null=True, verbose_name=_("TTR in microseconds"))

    class Meta:
        app_label = "incidents"
        # The page reads a period's months, narrowed by severity or service.
        indexes = [models.Index(fields=["month", "severity"], name="incident_figures_month")]
        verbose_name = _("incident figures")
        verbose_name_plural = _("incident figures")

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.month:%Y-%m} sev {self.severity}"


Cell = tuple[date, int, int]  # month, severity, service id


@dataclass(frozen=True)
class Part:
    """An incident's part in the metrics."""

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


# Atomic on its own; inside an action no savepoint (an error fails the action anyway).
@transaction.atomic(savepoint=False)
def record(incident: Incident, *, created: bool = False) -> None:
    """Bring the incident's figures in line with the incident as saved (inside the
    change's transaction). A new incident has none stored: one INSERT on the path that
    turns alerts into incidents."""
    new = _part_of_incident(incident)
    if created:
        if new is not None:
            _figures(incident.pk, new).save(force_insert=True)
        return
    if new is None:
        IncidentFigures.objects.filter(pk=incident.pk).delete()
        return
    figures = _figures(incident.pk, new)
    updated = IncidentFigures.objects.filter(pk=incident.pk).update(
        month=figures.month,
        severity=figures.severity,
        service_id=figures.service_id,
        started=figures.started,
        ttd_us=figures.ttd_us,
        ttr_us=figures.ttr_us,
    )
    if not updated:
        figures.save(force_insert=True)


def _figures(incident_id: int, part: Part) -> IncidentFigures:
    month, severity, service_id = part.cell
    return IncidentFigures(
        incident_id=incident_id,
        month=month,
        severity=severity,
        service_id=service_id,
        started=part.started,
        ttd_us=part.ttd_us,
        ttr_us=part.ttr_us,
    )


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


def rebuild(incident_model: Any = Incident, figures_model: Any = IncidentFigures) -> int:
    """Recompute every incident's figures; returns how many incidents have some. The
    models are parameters so the migration's backfill runs it on its historical models."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Incident changes wait until the rebuild commits (reads go on): a change
            # that had written its incident already holds what the lock needs, so the
            # rebuild waits for it instead, and sees it.
            with connection.cursor() as cursor:
                cursor.execute(f'LOCK TABLE "{incident_model._meta.db_table}" IN SHARE MODE')
        figures_model.objects.all().delete()
        rows = incident_model.objects.order_by().values(*FIELDS).iterator(chunk_size=5000)
        written = 0
        batch = []
        for row in rows:
            part = part_of(**row)
            if part is None:
                continue
            month, severity, service_id = part.cell
            batch.append(
                figures_model(
                    incident_id=row["pk"],
                    month=month,
                    severity=severity,
                    service_id=service_id,
                    started=part.started,
                    ttd_us=part.ttd_us,
                    ttr_us=part.ttr_us,
                )
            )
            if len(batch) == 5000:
                figures_model.objects.bulk_create(batch)
                written += len(batch)
                batch = []
        figures_model.objects.bulk_create(batch)
        written += len(batch)
        changed()
    return written
