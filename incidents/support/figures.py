"""The metrics' figures kept up to date at write time (HANDBOOK §10, issue 15).

``IncidentFigures``: one row per unrestricted incident, its month (UTC, of the impact
start, else the logging time), severity, faulty service and its TTD and TTR in
microseconds, written in the transaction of every change that moves those (the incident
actions announce each one through ``incidents.events``). The metrics page reads these
rows, never recomputing durations from the incidents' times.

Each change writes only its own incident's row, which the action already holds, and
appends one ``FiguresChange``: no row shared between incidents is locked. Monthly roll-up
rows were tried and dropped: a cell locked until commit serialised every change of a
month, and an alert batch that locked a cell and then an incident deadlocked against a
person changing that incident.

The change log is the version of the figures the cached pages are kept under: the number
of changes ever committed, read from the database in the page's first query.
A maximum id would not do: ids are handed out before commit, so a change may commit
after a later id was read. A count only grows with each commit, and a lost cache write
cannot keep a stale page. ``fold`` keeps the log short without changing the count.

Restricted incidents have no row (they count only for the people who may see them; the
page reads them one by one). ``rebuild`` recomputes every row from the incidents (the
migration's backfill and the ``rebuild_metrics`` command, after rows were written
straight into the tables).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection, models, transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from config.transactions import on_commit_once
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
def record(incident: Incident, *, created: bool = False) -> set[date]:
    """Bring the incident's figures in line with the incident as saved (inside the
    change's transaction) and name the months whose figures it touched. A new incident
    has none stored: one INSERT on the path that turns alerts into incidents."""
    new = _part_of_incident(incident)
    if created:
        if new is None:
            return set()
        _figures(incident.pk, new).save(force_insert=True)
        return {new.cell[0]}
    stored = IncidentFigures.objects.filter(pk=incident.pk)
    # The action holds the incident's row: no other change moves its figures meanwhile.
    old = set(stored.values_list("month", flat=True))
    if new is None:
        stored.delete()
        return old
    figures = _figures(incident.pk, new)
    updated = stored.update(
        month=figures.month,
        severity=figures.severity,
        service_id=figures.service_id,
        started=figures.started,
        ttd_us=figures.ttd_us,
        ttr_us=figures.ttr_us,
    )
    if not updated:
        figures.save(force_insert=True)
    return old | {figures.month}


def _figures(incident_id: int, part: Part, model: Any = None) -> IncidentFigures:
    """The row of ``part``; ``model`` is the migration's historical one when it builds."""
    month, severity, service_id = part.cell
    return (model or IncidentFigures)(
        incident_id=incident_id,
        month=month,
        severity=severity,
        service_id=service_id,
        started=part.started,
        ttd_us=part.ttd_us,
        ttr_us=part.ttr_us,
    )


class FiguresChange(models.Model):
    """One committed change the metrics page may show, appended in the change's own
    transaction: one row for each month whose stored figures it touched, else one without
    a month (a restricted incident, a service's or team's name). ``changes`` counts the
    ones ``fold`` merged into this row. ``figures``: the incident whose figures the change
    moved, where it moved one (a process that keeps the month patches it with that
    incident's figures as they are now, ``metrics_months``)."""

    id = models.BigAutoField(primary_key=True)
    month = models.DateField(null=True, verbose_name=_("month"))
    changes = models.PositiveBigIntegerField(default=1, verbose_name=_("changes"))
    # The incident's id, whether or not it still has figures (or exists): the log only
    # grows and folds, and its join finds the figures as they are, or none.
    figures = models.ForeignKey(
        IncidentFigures,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        db_column="incident_id",
        null=True,
        related_name="+",
        verbose_name=_("incident"),
    )

    class Meta:
        app_label = "incidents"
        verbose_name = _("metrics change")
        verbose_name_plural = _("metrics changes")

    def __str__(self) -> str:
        return f"{self.pk}: {self.month or '-'} x{self.changes}"


# Called once a change of the figures commits (``on_change``): the metrics pages'
# warm-up, registered from ``AppConfig.ready()`` (the pages read these figures).
_committed_listeners: list[Callable[[], None]] = []


def on_change(listener: Callable[[], None]) -> None:
    if listener not in _committed_listeners:
        _committed_listeners.append(listener)


def changed(months: Iterable[date] = (), *, incident_id: int | None = None) -> None:
    """Start a new version of the figures, and of each month named, with the change (an
    INSERT: it locks nothing another change waits for), and once it commits tell the
    listeners (``on_change``), once per transaction. Rolled back with it, a change
    starts none. ``incident_id``: the one incident whose figures the change moved."""
    FiguresChange.objects.bulk_create(
        [FiguresChange(month=month, figures_id=incident_id) for month in months]
        or [FiguresChange()]
    )
    for listener in _committed_listeners:
        on_commit_once(listener)


def database() -> str:
    """Which database the versions count in, for the keys of what is cached under them:
    two databases (staging and production, two benchmarks) may share one cache, and
    their counts run through the same numbers."""
    named = connection.settings_dict
    return f"{connection.vendor}:{named['HOST']}:{named['PORT']}:{named['NAME']}"


# How many log rows one fold merges at most: a bounded statement on either database.
FOLD_BATCH = 5000


@transaction.atomic
def fold() -> int:
    """Merge the change log into one row a month (the newest), each month's count and the
    total unchanged, and say how many rows went. Idempotent: a second fold finds nothing
    to merge. Rows another fold holds are skipped, so two folds never wait on each other
    (nor on a change: changes only insert); a killed fold rolls back whole."""
    rows = FiguresChange.objects.select_for_update(skip_locked=True).order_by("-pk")
    kept: dict[date | None, list[int]] = {}  # month: [newest id, changes]
    gone = []
    for pk, month, changes in rows.values_list("pk", "month", "changes")[:FOLD_BATCH]:
        if month in kept:
            kept[month][1] += changes
            gone.append(pk)
        else:
            kept[month] = [pk, changes]
    if not gone:
        return 0
    for newest, changes in kept.values():
        FiguresChange.objects.filter(pk=newest).update(changes=changes)
    FiguresChange.objects.filter(pk__in=gone).delete()
    return len(gone)


def _renamed(**_: Any) -> None:
    changed()


def _on_event(event: events.IncidentEvent) -> None:
    # Any change may show, with or without a month: a summary or a severity in the list
    # of missing times too, and a restricted incident's times to who may see it.
    months = record(event.incident, created=event.name == events.CREATED)
    changed(months, incident_id=event.incident.pk)


# The events after which an incident's times, severity, service or restriction may
# differ: creation, a status change (resolving sets the impact end, reopening clears
# it), a severity change and an edit.
WATCHED = (events.CREATED, events.STATUS_CHANGED, events.SEVERITY_CHANGED, events.UPDATED)


def subscribe() -> None:
    """Called from ``AppConfig.ready()``. Services and teams (names, a service's team)
    change in the admin without an action: starting a new version is no domain logic,
    as for the support board's catalogue."""
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
        months = set(figures_model.objects.values_list("month", flat=True).distinct())
        figures_model.objects.all().delete()
        rows = incident_model.objects.order_by().values(*FIELDS).iterator(chunk_size=5000)
        written = 0
        batch = []
        for row in rows:
            part = part_of(**row)
            if part is None:
                continue
            months.add(part.cell[0])
            batch.append(_figures(row["pk"], part, figures_model))
            if len(batch) == 5000:
                figures_model.objects.bulk_create(batch)
                written += len(batch)
                batch = []
        figures_model.objects.bulk_create(batch)
        written += len(batch)
        # The migration's backfill runs before the change log exists (and no page is
        # cached then); every other rebuild starts a new version of each month it touched.
        if figures_model is IncidentFigures:
            changed(sorted(months))
    return written
