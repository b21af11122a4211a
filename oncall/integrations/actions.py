"""Receiving alerts, de-duplicating them into groups and incidents, and managing
integrations. Incidents are created and changed only through ``incidents.actions``, by
the "alerts" system user, so the on-call subscribers page for severity 1-2 as for any
incident.

Receiving is cheap and takes no lock: the request stores one ``pending`` Alert row with
the parsed event (``record``) and wakes the worker once per burst (``wake_worker``).
The worker applies pending alerts in arrival order, one integration at a time under a
lock on its row, in short batches (``process_pending``): a storm of duplicates costs the
requests one INSERT each, and the worker a few queries per batch. The rows are the
obligation (DESIGN rule 1): a lost wake-up only delays them until the beat's sweep.

Resolve flow: when the last firing group of an incident the alerts opened resolves, the
impact end is recorded and a note asks the incident manager to resolve. We never resolve
an incident ourselves, claimed or not: an unclaimed incident whose alerts cleared may
still need a human to confirm the impact is over (flapping alerts, partial recovery).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, Field, OuterRef
from django.utils import timezone

from incidents import actions as incident_actions
from incidents.models import OPEN_STATUSES, EntryKind, Incident, Product, Service

from .. import actions as oncall_actions
from ..models import Escalation, EscalationState, Page, PageReason, PageState
from .formats import ACKNOWLEDGE, RESOLVE, TRIGGER, Event, clip
from .models import EVENT_FIELDS, Alert, AlertGroup, AlertOutcome, GroupState, Integration

logger = logging.getLogger(__name__)

# Set while a wake-up is queued and not yet started: a storm enqueues one task, not one
# per alert. The task deletes it before it reads, so an alert stored after that read
# finds the flag gone and wakes another run. If the broker is down the flag lives this
# long (one attempt per period), and the beat's sweep applies what waits meanwhile.
WAKE_FLAG = "alerts:wake"
WAKE_FLAG_SECONDS = 30
# The wake-up runs this much later, gathering what a storm sends meanwhile into one
# batch: a storm costs the worker a few runs a second, not one per alert (and leaves the
# CPU to the requests). New alerts wait this long for their incident.
WAKE_DELAY_SECONDS = 0.5
# How much earlier than the queued run's start a process stops relying on it: covers the
# clock skew between nodes (NTP keeps it to milliseconds).
WAKE_MARGIN_SECONDS = 0.05
# A batch is one transaction holding the integration's lock (and on SQLite the write
# lock, which requests wait for): bounded in rows and in time.
BATCH_SIZE = 500
BATCH_SECONDS = 0.5
# Pages a monitoring tool's acknowledge answers: those of the escalation.
ESCALATING = (PageReason.INCIDENT, PageReason.ESCALATION, PageReason.IMOC)


def bot_user() -> User:
    """The system user alerts act as: inactive, so nobody signs in with it."""
    user, _ = User.objects.get_or_create(
        username=settings.ALERTS_BOT_USERNAME,
        defaults={"is_active": False, "first_name": "Alerts"},
    )
    return user


def bounded_payload(raw: bytes | str) -> tuple[str, bool]:
    """The payload as stored: at most ALERTS_PAYLOAD_MAX_CHARS, so a storm of huge
    bodies cannot fill the database."""
    body = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    limit = settings.ALERTS_PAYLOAD_MAX_CHARS
    if len(body) <= limit:
        return body, False
    return body[:limit], True


# Receiving (the request) -------------------------------------------------------------------


def _stored_event(event: Event) -> dict[str, object]:
    """The event's parts an alert keeps, its texts cut like the payload: a long
    description must not store past the payload's bound on every duplicate."""
    limit = settings.ALERTS_PAYLOAD_MAX_CHARS
    parts = {name: getattr(event, name) for name in EVENT_FIELDS}
    return {name: clip(v, limit) if isinstance(v, str) else v for name, v in parts.items()}


def _store(
    key_hash: str,
    fmt: str,
    raw: bytes | str,
    outcome: str,
    *,
    event: Event | None = None,
    reason: str = "",
) -> str | None:
    """Store one alert for the integration whose key has this hash, in one statement
    (INSERT … SELECT … RETURNING): finding the integration and storing cost one round
    trip, and the key is checked against the row as it is now, so a rotated key stops
    working at once on every node. A paused integration's alert is stored ignored.
    Returns the outcome stored, or None when no integration has the key."""
    payload, truncated = bounded_payload(raw)
    now = timezone.now()
    values: dict[str, object] = {
        "format": fmt,
        "outcome": outcome,
        "reason": reason[:500],
        "payload": payload,
        "truncated": truncated,
        "received_at": now,
        "action": event.action if event else "",
        "dedup_key": event.dedup_key if event else "",
        "event": _stored_event(event) if event else {},
        "processed_at": None if outcome == AlertOutcome.PENDING else now,
    }
    when_paused = values
    if outcome == AlertOutcome.PENDING:
        # Accepted, so the tool does not retry forever, but recorded as ignored:
        # the admin sees what arrived while paused.
        when_paused = {
            "outcome": AlertOutcome.IGNORED,
            "reason": "The integration is paused.",
            "processed_at": now,
        }
    params: list[Any] = []
    for name, field in _STORED_FIELDS:
        if name in _PAUSABLE:
            params.append(field.get_db_prep_save(when_paused[name], connection))
        params.append(field.get_db_prep_save(values[name], connection))
    with connection.cursor() as cursor:
        cursor.execute(_store_sql(connection.vendor), [*params, key_hash])
        row = cursor.fetchone()
    return None if row is None else str(row[0])


# The columns ``_store`` writes besides the integration, and those it sets otherwise
# when the integration is paused.
_STORED_FIELDS = [
    (name, cast(Field, Alert._meta.get_field(name)))
    for name in (
        "format",
        "outcome",
        "reason",
        "payload",
        "truncated",
        "received_at",
        "action",
        "dedup_key",
        "event",
        "processed_at",
    )
]
_PAUSABLE = ("outcome", "reason", "processed_at")


@functools.cache
def _store_sql(vendor: str) -> str:
    """INSERT INTO alert (integration_id, …) SELECT id, … FROM integration WHERE
    key_hash = %s RETURNING outcome; the paused integration's values through CASE."""
    quote = connection.ops.quote_name
    columns, expressions = [quote("integration_id")], [quote("id")]
    for name, field in _STORED_FIELDS:
        columns.append(quote(field.column))
        if name in _PAUSABLE:
            expressions.append(f"CASE WHEN {quote('paused')} THEN %s ELSE %s END")
        else:
            expressions.append("%s")
    return (
        f"INSERT INTO {quote(Alert._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} FROM {quote(Integration._meta.db_table)} "
        f"WHERE {quote('key_hash')} = %s RETURNING {quote('outcome')}"
    )


def reject(key_hash: str, fmt: str, raw: bytes | str, errors: list[str]) -> str | None:
    """Keep a malformed payload in the integration's rejected list; None when no
    integration has the key."""
    return _store(key_hash, fmt, raw, AlertOutcome.REJECTED, reason="; ".join(errors))


def receive(key_hash: str, fmt: str, raw: bytes | str, events: list[Event]) -> str | None:
    """Store a delivery as pending alerts (each format makes one event per delivery)
    and wake the worker. Returns "pending", or "ignored" when the integration is
    paused, or None when no integration has the key."""
    stored = None
    for event in events:
        stored = _store(key_hash, fmt, raw, AlertOutcome.PENDING, event=event)
        if stored is None:
            return None
    if stored == AlertOutcome.PENDING:
        # robust: the alerts are stored; a broker or cache outage only delays them.
        transaction.on_commit(wake_worker, robust=True)
    return stored


# Until when (this process's clock) a wake-up is known to be queued and not started.
_woken_until = 0.0


def wake_worker() -> None:
    """Enqueue ``process_alerts`` unless a wake-up is already queued and not started.

    The flag holds the time the queued run starts (it runs WAKE_DELAY_SECONDS after it
    was queued); until a margin before that, an alert stored here is surely read by that
    run, so this process skips even the cache. Were the margin exceeded, the alert would
    wait for the next wake-up or the beat's sweep: late, never lost."""
    from .tasks import process_alerts

    global _woken_until
    now = time.time()
    if now < _woken_until:
        return
    starts = now + WAKE_DELAY_SECONDS
    if cache.add(WAKE_FLAG, starts, timeout=WAKE_FLAG_SECONDS):
        process_alerts.apply_async(countdown=WAKE_DELAY_SECONDS)
    else:
        queued = cache.get(WAKE_FLAG)
        if not isinstance(queued, float):
            return
        starts = queued
    _woken_until = starts - WAKE_MARGIN_SECONDS


def clear_wake_flag() -> None:
    global _woken_until
    _woken_until = 0.0
    cache.delete(WAKE_FLAG)


# Processing (the worker) -------------------------------------------------------------------


def process_pending(*, integration_id: int | None = None) -> int:
    """Apply the alerts pending now (of one integration, or all), in arrival order,
    batch by batch; returns how many were applied. An integration is done once a batch
    finds fewer than a full batch: what arrives later has woken another run (the wake
    flag was cleared before this run read), so a storm makes short runs, not one endless
    run of tiny batches. Safe on many workers at once: each integration is applied by
    one of them at a time, under a lock on its row. A killed worker's batch rolls back
    whole and is applied again by the next run."""
    applied, done = 0, set[int]()
    while (batch := _next_batch(integration_id, done)) is not None:
        pk, count, more = batch
        applied += count
        if not more:
            done.add(pk)
    return applied


def _next_batch(only: int | None, done: set[int]) -> tuple[int, int, bool] | None:
    """Apply one batch: (integration, alerts applied, whether more may be pending);
    None when no integration but those done has pending alerts."""
    locked: int | None = None
    try:
        with transaction.atomic():
            integration = _lock_next(only, done)
            if integration is None:
                return None
            locked = integration.pk
            alerts = _pending(integration, BATCH_SIZE)
            applied = _Batch(integration).apply(alerts)
            return locked, applied, applied < len(alerts) or len(alerts) == BATCH_SIZE
    except (OperationalError, InterfaceError):
        raise  # the database is unwell: the task fails and the sweep tries again
    except Exception:
        if locked is None:
            raise
        logger.exception("Applying alerts of integration %s failed; one by one now", locked)
        return locked, _apply_one_or_mark_failed(locked), True


def _pending(integration: Integration, limit: int) -> list[Alert]:
    """The next pending alerts, oldest first, without their payloads (the parsed event
    is all the worker needs)."""
    pending = Alert.objects.filter(integration=integration, outcome=AlertOutcome.PENDING)
    fields = ("id", "received_at", "action", "dedup_key", "event")
    return list(pending.only(*fields).order_by("id")[:limit])


def _lock_next(only: int | None, done: set[int]) -> Integration | None:
    """Lock an integration with pending alerts: a free one if any (workers share the
    work), else wait for the busy one (so a run that started after its alert was stored
    never leaves it behind). FOR NO KEY UPDATE: requests inserting alerts (which take
    KEY SHARE on the row) never wait for it. SQLite ignores row locks: its write lock
    serialises the batches."""
    pending = Alert.objects.filter(integration=OuterRef("pk"), outcome=AlertOutcome.PENDING)
    candidates = (
        Integration.objects.filter(Exists(pending)).exclude(pk__in=done).select_related("service")
    )
    if only is not None:
        candidates = candidates.filter(pk=only)
    free = candidates.select_for_update(skip_locked=True, no_key=True, of=("self",)).first()
    if free is not None:
        return free
    busy = candidates.values_list("pk", flat=True).first()
    if busy is None:
        return None
    return (
        Integration.objects.select_for_update(no_key=True, of=("self",))
        .select_related("service")
        .get(pk=busy)
    )


@transaction.atomic
def _apply_one_or_mark_failed(integration_id: int) -> int:
    """After a batch failed: apply its first alert alone, and when that fails too, mark
    it failed so it does not block the alerts behind it."""
    integration = (
        Integration.objects.select_for_update(no_key=True, of=("self",))
        .select_related("service")
        .get(pk=integration_id)
    )
    alerts = _pending(integration, 1)
    if not alerts:
        return 0
    try:
        with transaction.atomic():
            return _Batch(integration).apply(alerts)
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:
        logger.exception("Alert %s could not be applied", alerts[0].pk)
        Alert.objects.filter(pk=alerts[0].pk, outcome=AlertOutcome.PENDING).update(
            outcome=AlertOutcome.FAILED,
            reason=f"Processing failed: {error!r}"[:500],
            processed_at=timezone.now(),
        )
        return 1


class _Batch:
    """Pending alerts of one integration applied in one transaction, in arrival order.

    The batch remembers the open group of each key it met, adds up the alerts counted on
    each group and writes the counts and the alerts' outcomes once at the end, so a storm
    of duplicates costs a few queries per batch, not per alert."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.open: dict[str, AlertGroup | None] = {}
        self.counted: dict[int, int] = defaultdict(int)
        self.last_seen: dict[int, datetime] = {}
        self.outcomes: dict[tuple[str, int | None, str], list[int]] = defaultdict(list)
        self._bot: User | None = None

    @property
    def bot(self) -> User:
        if self._bot is None:
            self._bot = bot_user()
        return self._bot

    def apply(self, alerts: list[Alert]) -> int:
        started = time.monotonic()
        applied = 0
        for alert in alerts:
            outcome, group, reason = self._apply(alert, alert.parsed_event())
            self.outcomes[(outcome, group.pk if group else None, reason)].append(alert.pk)
            applied += 1
            if time.monotonic() - started > BATCH_SECONDS:
                break  # the rest wait for the next batch
        self._write()
        return applied

    def _write(self) -> None:
        for pk, added in self.counted.items():
            AlertGroup.objects.filter(pk=pk).update(
                alert_count=F("alert_count") + added, last_seen_at=self.last_seen[pk]
            )
        now = timezone.now()
        for (outcome, group_id, reason), ids in self.outcomes.items():
            Alert.objects.filter(pk__in=ids, outcome=AlertOutcome.PENDING).update(
                outcome=outcome, group_id=group_id, reason=reason, processed_at=now
            )

    def _count(self, group: AlertGroup, alert: Alert) -> None:
        self.counted[group.pk] += 1
        seen = self.last_seen.get(group.pk, group.last_seen_at)
        self.last_seen[group.pk] = max(alert.received_at, seen)

    def _group(self, dedup_key: str, now: datetime) -> AlertGroup | None:
        if dedup_key in self.open:
            return self.open[dedup_key]
        group = (
            AlertGroup.objects.select_related("incident")
            .filter(integration=self.integration, dedup_key=dedup_key, state=GroupState.FIRING)
            .first()
        )
        if (
            group is not None
            and group.incident is not None
            and group.incident.status not in OPEN_STATUSES
        ):
            # People resolved the incident while the alert still fired: close the stale
            # group so this alert opens a fresh incident rather than hiding in a closed one.
            group.state = GroupState.RESOLVED
            group.resolved_at = now
            group.save(update_fields=["state", "resolved_at"])
            group = None
        self.open[dedup_key] = group
        return group

    def _apply(self, alert: Alert, event: Event) -> tuple[str, AlertGroup | None, str]:
        now = alert.received_at
        group = self._group(event.dedup_key, now)
        if event.action == TRIGGER:
            if group is None:
                return self._open_group(alert, event)
            self._count(group, alert)
            self._escalate(group, event)
            return AlertOutcome.DEDUPLICATED, group, ""

        if group is None:
            return (
                AlertOutcome.IGNORED,
                None,
                f"No open alert group has the key {event.dedup_key!r}."[:500],
            )

        self._count(group, alert)
        if event.action == ACKNOWLEDGE:
            group.acknowledged_at = now
            group.save(update_fields=["acknowledged_at"])
            if group.incident is not None:
                self._acknowledge_pages(group.incident)
            return AlertOutcome.ACKNOWLEDGED, group, ""

        assert event.action == RESOLVE
        group.state = GroupState.RESOLVED
        group.resolved_at = now
        group.save(update_fields=["state", "resolved_at"])
        self.open[event.dedup_key] = None
        if group.incident is not None:
            self._after_group_resolved(group.incident, now)
        return AlertOutcome.RESOLVED, group, ""

    def _open_group(self, alert: Alert, event: Event) -> tuple[str, AlertGroup, str]:
        integration, now = self.integration, alert.received_at
        severity = integration.severity_for(event.severity)
        summary = event.summary or event.dedup_key[:200]
        # Only this batch applies this integration's alerts (it holds the lock), and the
        # unique index on open groups guards the rule whatever else writes groups.
        group = AlertGroup.objects.create(
            integration=integration,
            dedup_key=event.dedup_key,
            summary=summary,
            severity=severity,
            first_seen_at=now,
            last_seen_at=now,
        )
        self.open[event.dedup_key] = group
        reopened = (
            AlertGroup.objects.filter(
                integration=integration,
                dedup_key=event.dedup_key,
                incident__status__in=OPEN_STATUSES,
            )
            .exclude(pk=group.pk)
            .select_related("incident")
            .order_by("-first_seen_at", "-id")
            .first()
        )
        if reopened is not None and reopened.incident is not None:
            # The alert fires again while its incident is still open (a flapping check):
            # same incident, and the impact is not over after all.
            incident = reopened.incident
            if incident.impact_ended_at is not None and incident.created_by_id == self.bot.pk:
                incident = incident_actions.update_incident(
                    incident, by=self.bot, impact_ended_at=None
                )
            group.incident = incident
            group.save(update_fields=["incident"])
            return AlertOutcome.DEDUPLICATED, group, ""
        lines = [event.description or summary]
        if event.source:
            lines.append(f"Source: {event.source}")
        lines.append(f"Opened by the {integration.name} integration (key {event.dedup_key}).")
        group.incident = incident_actions.create_incident(
            by=self.bot,
            summary=summary,
            description="\n\n".join(lines),
            severity=severity,
            faulty_service=integration.service,
            affected_products=list(integration.affected_products.all()),
            detected_at=now,
        )
        group.save(update_fields=["incident"])
        return AlertOutcome.CREATED, group, ""

    def _escalate(self, group: AlertGroup, event: Event) -> None:
        """A repeat alert that is worse than the incident raises its severity (and so
        pages on-call when it reaches 1-2); a milder one never lowers what people
        decided."""
        severity = self.integration.severity_for(event.severity)
        incident = group.incident
        if incident is None or severity >= incident.severity:
            return
        group.incident = incident_actions.change_severity(
            incident,
            severity=severity,
            by=self.bot,
            reason=f"Alert {event.dedup_key!r} now reports {event.severity}.",
        )
        group.severity = severity
        group.save(update_fields=["severity"])

    def _acknowledge_pages(self, incident: Incident) -> None:
        """The tool's acknowledge does what a person's does: the escalation's latest
        open page is acknowledged (by the alerts user), which stops the escalation."""
        page = (
            Page.objects.filter(
                incident=incident,
                reason__in=ESCALATING,
                state__in=(PageState.PENDING, PageState.SENT),
            )
            .order_by("-pk")
            .first()
        )
        if page is not None:
            oncall_actions.acknowledge_page(page, by=self.bot)
        elif Escalation.objects.filter(incident=incident, state=EscalationState.ACTIVE).exists():
            # Nobody was on call to page: no page to acknowledge, but the clock stops.
            oncall_actions.stop_escalation(
                incident, by=self.bot, why=f"acknowledged in {self.integration.name}"
            )

    def _after_group_resolved(self, incident: Incident, now: datetime) -> None:
        if incident.created_by_id != self.bot.pk:
            # A person logged this incident: the alerts only inform, people decide.
            return
        if AlertGroup.objects.filter(incident=incident, state=GroupState.FIRING).exists():
            return
        current = Incident.objects.get(pk=incident.pk)
        if current.status not in OPEN_STATUSES:
            return
        if current.impact_ended_at is None:
            current = incident_actions.update_incident(current, by=self.bot, impact_ended_at=now)
        who = current.assignee.get_username() if current.assignee else "The incident manager"
        incident_actions.add_timeline_entry(
            current,
            kind=EntryKind.NOTE,
            by=self.bot,
            text=(
                f"All alerts of {current.key} are resolved; the impact end is recorded. "
                f"{who}: resolve the incident once you have confirmed the impact is over."
            ),
        )


# Managing integrations ------------------------------------------------------------------


@transaction.atomic
def create_integration(
    *,
    by: User,
    name: str,
    service: Service,
    default_severity: int = 3,
    affected_products: Iterable[Product] = (),
    severity_map: dict[str, int] | None = None,
) -> tuple[Integration, str]:
    """Create an integration; returns it with its key, which is shown this once."""
    integration = Integration(
        name=name.strip(),
        service=service,
        default_severity=default_severity,
        created_by=by,
    )
    if severity_map is not None:
        integration.severity_map = _clean_map(severity_map)
    key = integration.set_key()
    integration.save()
    integration.affected_products.set(affected_products)
    return integration, key


def _clean_map(severity_map: dict[str, int]) -> dict[str, int]:
    return {str(label).strip().lower(): int(value) for label, value in severity_map.items()}


@transaction.atomic
def rotate_key(integration: Integration, *, by: User) -> str:
    """A new key; the old one stops working at once."""
    current = Integration.objects.select_for_update().get(pk=integration.pk)
    key = current.set_key()
    current.key_rotated_at = timezone.now()
    current.save(update_fields=["key_hash", "key_hint", "key_rotated_at"])
    integration.key_hash, integration.key_hint = current.key_hash, current.key_hint
    integration.key_rotated_at = current.key_rotated_at
    return key


@transaction.atomic
def set_paused(integration: Integration, *, paused: bool, by: User) -> Integration:
    Integration.objects.filter(pk=integration.pk).update(paused=paused)
    integration.paused = paused
    return integration


def send_test_alert(integration: Integration, *, by: User) -> Alert:
    """What the admin page's "Send a test alert" does: a generic alert through the same
    path as real ones, applied at once (with whatever else of this integration waits),
    so the admin sees the incident and page it makes. Returns the alert as applied."""
    from .formats import generic

    body = {
        "title": f"Test alert from {integration.name}",
        "dedup_key": f"test-{timezone.now():%Y%m%d%H%M%S}",
        "severity": "info",
        "description": f"Sent by {by.get_username()} from the integrations page.",
        "source": "hotline",
    }
    [event] = generic.parse(body)
    receive(integration.key_hash, generic.NAME, json.dumps(body), [event])
    process_pending(integration_id=integration.pk)
    return Alert.objects.filter(integration=integration, dedup_key=event.dedup_key).latest("id")


def prune(older_than: datetime) -> int:
    """Delete received payloads older than the retention; groups and incidents stay."""
    deleted, _ = Alert.objects.filter(received_at__lt=older_than).delete()
    return deleted
