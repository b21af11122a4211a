"""Processing (the worker): the pending alerts applied in arrival order, one integration
at a time under a lock on its row, in short batches (``process_pending``, ``_Batch``)."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import BigIntegerField, Exists, F, OuterRef
from django.db.models.expressions import RawSQL
from django.utils import timezone

from incidents import actions as incident_actions
from incidents import entry_texts
from incidents.models import OPEN_STATUSES, EntryKind, Incident, Product
from oncall import actions as oncall_actions

from ..formats import ACKNOWLEDGE, RESOLVE, TRIGGER, Event, pagerduty, real_time
from ..maintenance import Windows
from ..maintenance_models import MaintenanceWindow
from ..models import Alert, AlertGroup, AlertOutcome, GroupState, Integration
from .storms import StormGate

logger = logging.getLogger(__name__)

# A batch is one transaction holding the integration's lock (and on SQLite the write
# lock, which requests wait for): bounded in rows and in time.
BATCH_SIZE = 500
BATCH_SECONDS = 0.5
# New incidents a batch creates at most: with storm folding off, their creation (about
# 5 ms each with every subscriber) is what bounds the batch's time.
OPENING_MAX = 50
# The alert's id column, as the outcome UPDATE's CASE names it.
_ALERT_ID = connection.ops.quote_name(Alert._meta.pk.column)


def bot_user() -> User:
    """The system user alerts act as: inactive, so nobody signs in with it."""
    user, _ = User.objects.get_or_create(
        username=settings.ALERTS_BOT_USERNAME,
        defaults={"is_active": False, "first_name": "Alerts"},
    )
    return user


def process_pending(*, integration_id: int | None = None) -> int:
    """Apply the alerts pending now (of one integration, or all), in arrival order,
    batch by batch; returns how many were applied. An integration is done once a batch
    finds fewer than a full batch: what arrives later wakes the run of a later half-second
    slot (``receiving.wake_worker``), so a storm makes short runs, not one endless run
    of tiny batches. Safe on many workers at once: each integration is applied by
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
    fields = ("id", "received_at", "format", "action", "dedup_key", "event")
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

    The batch reads the open groups of its keys at once, adds up the alerts counted on
    each group and writes the counts and the alerts' outcomes once at the end, so a storm
    of duplicates costs a few queries per batch, not per alert. New groups are inserted
    together too, and the incidents they open are logged together when the batch writes
    (``incident_actions.create_incidents``: their keys taken at once, their pages
    written in bulk), so a batch of new incidents costs a few queries, not a few dozen
    each. A new group past the integration's storm threshold joins its alert storm
    incident (``storms.StormGate``) rather than opening and paging its own."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.open: dict[str, AlertGroup | None] = {}
        self.counted: dict[int, int] = defaultdict(int)
        self.last_seen: dict[int, datetime] = {}
        # The alerts by outcome, group and reason. A group new in this batch has no id
        # until ``_flush``: keyed by the object's identity (``slots``) meanwhile.
        self.outcomes: dict[tuple[str, int | None, str], list[int]] = defaultdict(list)
        self.slots: dict[int, AlertGroup] = {}
        # New groups not stored yet: inserted together (``_flush``) before anything
        # reads or changes them; those opening an incident with the incident to log
        # (all logged at once: one key taken for all, the pages written together).
        self.unsaved: list[AlertGroup] = []
        self.opening: list[tuple[AlertGroup, incident_actions.NewIncident]] = []
        self._bot: User | None = None
        # The latest labels, annotations and details of each group counted.
        self.context: dict[int, dict[str, Any]] = {}
        self.windows: Windows | None = None
        self._gate: StormGate | None = None
        # Read once per batch (``_prefetch``): each key's open group, and the latest
        # group with an open incident of keys that may fire again into it.
        self.firing: dict[str, AlertGroup] = {}
        self.reopenable: dict[str, AlertGroup] = {}
        self._products: list[Product] | None = None

    @property
    def bot(self) -> User:
        if self._bot is None:
            self._bot = bot_user()
        return self._bot

    @property
    def gate(self) -> StormGate:
        if self._gate is None:
            self._gate = StormGate(self.integration, self.bot)
        return self._gate

    def apply(self, alerts: list[Alert]) -> int:
        started = time.monotonic()
        applied = 0
        if alerts:
            self.windows = Windows(self.integration, min(a.received_at for a in alerts))
            self._prefetch(alerts)
        for alert in alerts:
            outcome, group, reason = self._apply(alert, alert.parsed_event())
            slot = None
            if group is not None:
                slot = id(group)
                self.slots[slot] = group
            self.outcomes[(outcome, slot, reason)].append(alert.pk)
            applied += 1
            if time.monotonic() - started > BATCH_SECONDS or len(self.opening) >= OPENING_MAX:
                # The rest wait for the next batch. The incidents are created at the end
                # (``_write``), under the key counter's lock: their number is bounded too.
                break
        self._write()
        return applied

    def _prefetch(self, alerts: list[Alert]) -> None:
        """Read once what each alert's key needs: its open group, and for formats whose
        groups fire again into their open incident, that incident's latest group."""
        keys = {alert.dedup_key for alert in alerts}
        self.firing = {
            group.dedup_key: group
            for group in AlertGroup.objects.select_related("incident").filter(
                integration=self.integration, dedup_key__in=keys, state=GroupState.FIRING
            )
        }
        flapping = {
            alert.dedup_key
            for alert in alerts
            if alert.action == TRIGGER and alert.format != pagerduty.NAME
        }
        self.reopenable = {}
        if flapping:
            earlier = (
                AlertGroup.objects.filter(
                    integration=self.integration,
                    dedup_key__in=flapping,
                    incident__status__in=OPEN_STATUSES,
                )
                .select_related("incident")
                .order_by("first_seen_at", "id")
            )
            for group in earlier:
                self.reopenable[group.dedup_key] = group

    def _write(self) -> None:
        if self._gate is not None:
            self._gate.write()
        for pk, added in self.counted.items():
            latest = {"details": self.context[pk]} if pk in self.context else {}
            AlertGroup.objects.filter(pk=pk).update(
                alert_count=F("alert_count") + added, last_seen_at=self.last_seen[pk], **latest
            )
        # One UPDATE per outcome, each alert's group chosen in it: not one per group.
        self._flush()
        now = timezone.now()
        by_outcome: dict[tuple[str, str], dict[int | None, list[int]]] = defaultdict(dict)
        for (outcome, slot, reason), ids in self.outcomes.items():
            group_id = self.slots[slot].pk if slot is not None else None
            by_outcome[(outcome, reason)].setdefault(group_id, []).extend(ids)
        for (outcome, reason), groups in by_outcome.items():
            # One group (or none): the plain value. Else each alert's group by its id in
            # one simple CASE written out, not an ORM ``When`` per group: a batch of 500
            # new groups spent most of its time building those. An alert of no group
            # falls to the CASE's NULL.
            chosen: RawSQL | int | None = next(iter(groups))
            if len(groups) > 1:
                pairs = [
                    (pk, group) for group, pks in groups.items() if group is not None for pk in pks
                ]
                chosen = RawSQL(
                    f"CASE {_ALERT_ID} {' '.join(['WHEN %s THEN %s'] * len(pairs))} END",
                    [value for pair in pairs for value in pair],
                    output_field=BigIntegerField(),
                )
            Alert.objects.filter(
                pk__in=[pk for pks in groups.values() for pk in pks], outcome=AlertOutcome.PENDING
            ).update(outcome=outcome, group_id=chosen, reason=reason, processed_at=now)

    def _flush(self) -> None:
        """Log the new groups' incidents and store the new groups, each in bulk."""
        if self.opening:
            created = incident_actions.create_incidents(
                [new for _group, new in self.opening], by=self.bot
            )
            for (group, _new), incident in zip(self.opening, created, strict=True):
                group.incident = incident
            self.opening = []
        if self.unsaved:
            AlertGroup.objects.bulk_create(self.unsaved)
            self.unsaved = []

    def _count(self, group: AlertGroup, alert: Alert) -> None:
        self.counted[group.pk] += 1
        seen = self.last_seen.get(group.pk, group.last_seen_at)
        self.last_seen[group.pk] = max(alert.received_at, seen)

    def _group(self, dedup_key: str, now: datetime) -> AlertGroup | None:
        if dedup_key in self.open:
            return self.open[dedup_key]
        group = self.firing.get(dedup_key)
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
        if group is not None and group.incident is None and self._maintenance(now) is None:
            # Opened during a maintenance window that is over: close it, so this alert
            # opens an incident and pages like any other.
            group.state = GroupState.RESOLVED
            group.resolved_at = now
            group.save(update_fields=["state", "resolved_at"])
            group = None
        self.open[dedup_key] = group
        return group

    def _maintenance(self, at: datetime) -> MaintenanceWindow | None:
        return self.windows.at(at) if self.windows is not None else None

    def _apply(self, alert: Alert, event: Event) -> tuple[str, AlertGroup | None, str]:
        now = alert.received_at
        group = self._group(event.dedup_key, now)
        if event.action != TRIGGER or (group is not None and group.pk is None):
            # Stored before a group new in this batch changes, and before a resolve
            # or acknowledge reads the groups of an incident.
            self._flush()
        if event.action == TRIGGER:
            if group is None:
                return self._open_group(alert, event)
            self._count(group, alert)
            self._note(group, event, now)
            if group.incident is None:
                return AlertOutcome.MAINTENANCE, group, ""
            if self._maintenance(now) is None:
                # During maintenance nobody is paged: the severity is left as it is.
                self._escalate(group, event)
            return AlertOutcome.DEDUPLICATED, group, ""

        if group is None:
            return (
                AlertOutcome.IGNORED,
                None,
                f"No open alert group has the key {event.dedup_key!r}."[:500],
            )

        self._count(group, alert)
        self._note(group, event, now)
        if event.action == ACKNOWLEDGE:
            group.acknowledged_at = now
            group.save(update_fields=["acknowledged_at"])
            if group.incident is not None:
                self._acknowledge_pages(group.incident)
            return AlertOutcome.ACKNOWLEDGED, group, ""

        assert event.action == RESOLVE
        group.state = GroupState.RESOLVED
        group.resolved_at = now
        # The tool's end (Alertmanager's latest endsAt), not when the resolve arrived.
        group.ended_at = _clamped(event.ended_at, now) or now
        group.save(update_fields=["state", "resolved_at", "ended_at"])
        self.open[event.dedup_key] = None
        if group.incident is not None:
            self._after_group_resolved(group.incident, now)
        return AlertOutcome.RESOLVED, group, ""

    def _open_group(self, alert: Alert, event: Event) -> tuple[str, AlertGroup, str]:
        integration, now = self.integration, alert.received_at
        severity = integration.severity_for(event.severity)
        summary = event.summary or event.dedup_key[:200]
        window = self._maintenance(now)
        if window is not None:
            # Kept for the record, with no incident: nobody is paged.
            group = AlertGroup.objects.create(
                integration=integration,
                dedup_key=event.dedup_key,
                summary=summary,
                severity=severity,
                first_seen_at=now,
                last_seen_at=now,
                maintenance=window,
            )
            self.open[event.dedup_key] = group
            return AlertOutcome.MAINTENANCE, group, window.reason
        # Only this batch applies this integration's alerts (it holds the lock), and the
        # unique index on open groups guards the rule whatever else writes groups.
        started = _clamped(event.started_at, now)
        group = AlertGroup(
            integration=integration,
            dedup_key=event.dedup_key,
            summary=summary,
            severity=severity,
            first_seen_at=now,
            last_seen_at=now,
            started_at=started,
            details=event.context,
        )
        # PagerDuty opens a new alert and incident for a trigger after its resolve; an
        # Alertmanager group firing again is the same problem flapping.
        reopened = self.reopenable.get(event.dedup_key)
        # Read afresh: this batch may have recorded the incident's impact end since.
        incident = (
            Incident.objects.get(pk=reopened.incident_id)
            if reopened is not None
            and reopened.incident_id is not None
            and alert.format != pagerduty.NAME
            else None
        )
        if incident is not None and incident.status in OPEN_STATUSES:
            # The alert fires again while its incident is still open (a flapping check):
            # same incident, and the impact is not over after all.
            if incident.impact_ended_at is not None and incident.created_by_id == self.bot.pk:
                incident = incident_actions.update_incident(
                    incident, by=self.bot, impact_ended_at=None
                )
            self.gate.arrive(now)
            return AlertOutcome.DEDUPLICATED, self._create(group, incident), ""
        if self.gate.arrive(now):
            return self._fold(group, event)
        lines = [event.description or summary]
        if event.source:
            lines.append(f"Source: {event.source}")
        lines.append(f"Opened by the {integration.name} integration (key {event.dedup_key}).")
        new = incident_actions.NewIncident(
            summary=summary,
            description="\n\n".join(lines),
            severity=severity,
            faulty_service=integration.service,
            affected_products=self.products,
            impact_started_at=started,
            detected_at=now,
        )
        # Logged with the batch's other new incidents (``_flush``), in arrival order.
        self.opening.append((group, new))
        self.unsaved.append(group)
        self.open[group.dedup_key] = group
        self.reopenable[group.dedup_key] = group
        return AlertOutcome.CREATED, group, ""

    @property
    def products(self) -> list[Product]:
        if self._products is None:
            self._products = list(self.integration.affected_products.all())
        return self._products

    def _create(self, group: AlertGroup, incident: Incident) -> AlertGroup:
        """A new group, on its incident from the start: stored with the batch's others."""
        group.incident = incident
        self.unsaved.append(group)
        self.open[group.dedup_key] = group
        if group.incident.status in OPEN_STATUSES:
            self.reopenable[group.dedup_key] = group
        return group

    def _fold(self, group: AlertGroup, event: Event) -> tuple[str, AlertGroup, str]:
        """Attach a new group to the integration's alert storm incident: nobody is
        paged for it, unless it is worse than the storm so far."""
        if self.opening:
            # The incidents of the groups before it first: a storm opening now gets the
            # key after theirs.
            self._flush()
        storm = self.gate.storm_for(
            group.first_seen_at, severity=group.severity, summary=group.summary
        )
        self._create(group, storm.incident)
        self._escalate(group, event)
        if group.incident is not None:  # raised by a worse group: the storm's is too
            storm.incident = group.incident
        return AlertOutcome.FOLDED, group, ""

    def _note(self, group: AlertGroup, event: Event, now: datetime) -> None:
        """Keep what the delivery says for responders, and an earlier start than the
        group knew (an alert of the group that began before the first one seen)."""
        if event.context:
            self.context[group.pk] = event.context
        started = _clamped(event.started_at, now)
        if started is None or (group.started_at is not None and group.started_at <= started):
            return
        group.started_at = started
        group.save(update_fields=["started_at"])
        incident = group.incident
        if (
            incident is not None
            and incident.created_by_id == self.bot.pk
            and incident.status in OPEN_STATUSES
            and (incident.impact_started_at is None or started < incident.impact_started_at)
        ):
            group.incident = incident_actions.update_incident(
                incident, by=self.bot, impact_started_at=started
            )

    def _impact_end(self, incident: Incident, now: datetime) -> datetime:
        """The latest end the incident's groups report (their resolve's arrival where
        the tool named none), never before the impact started."""
        ends = AlertGroup.objects.filter(incident=incident).values_list("ended_at", "resolved_at")
        ended = max((end or resolved or now for end, resolved in ends), default=now)
        if incident.impact_started_at is not None:
            ended = max(ended, incident.impact_started_at)
        return ended

    def _escalate(self, group: AlertGroup, event: Event) -> None:
        """A repeat alert that is worse than the incident raises its severity (and so
        pages on-call when it reaches 1-2); a milder one never lowers what people
        decided."""
        severity = self.integration.severity_for(event.severity)
        incident = group.incident
        if incident is None or severity >= incident.severity:
            return
        self._flush()
        group.incident = incident_actions.change_severity(
            incident,
            severity=severity,
            by=self.bot,
            # An alert without a level has its integration's default severity.
            alert=(
                event.dedup_key,
                f"SEV {severity}" if event.severity is None else str(event.severity),
            ),
        )
        group.severity = severity
        group.save(update_fields=["severity"])

    def _acknowledge_pages(self, incident: Incident) -> None:
        """The tool's acknowledge does what a person's does: the escalation's latest
        open page is acknowledged (by the alerts user), which stops the escalation."""
        oncall_actions.acknowledge_escalation(
            incident,
            by=self.bot,
            why=oncall_actions.because("why.acknowledged_in", integration=self.integration.name),
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
            current = incident_actions.update_incident(
                current, by=self.bot, impact_ended_at=self._impact_end(current, now)
            )
        manager = current.assignee.get_username() if current.assignee else ""
        note = entry_texts.facts("alerts.all_resolved", key=current.key, manager=manager)
        incident_actions.add_timeline_entry(
            current, kind=EntryKind.NOTE, by=self.bot, text=entry_texts.english(note), data=note
        )


def _clamped(value: str, now: datetime) -> datetime | None:
    """A time the tool sent, as an impact time: never after the alert arrived (a sender's
    clock ahead of ours), None when it sent none."""
    parsed = real_time(value)
    return None if parsed is None else min(parsed, now)
