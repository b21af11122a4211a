"""Alert storms, as PagerDuty and Opsgenie fold them: when an integration opens more new
alert groups than its threshold within its window, each further new group joins one
"alert storm" incident (which paged once, when it opened) instead of opening an incident
and paging for itself. When the rate falls back to the threshold, folding ends and new
groups page normally again.

The rule, per new group arriving at time t, with c the integration's new groups in
(t - window, t] counting this one (groups of maintenance windows do not count):
c <= threshold pages as ever (and ends an open storm); c = threshold + 1 opens a storm;
c > threshold + 1 joins the open storm. Between arrivals the count only falls, lowest
just before the next one (c - 1), so a storm that lasted has c - 1 > threshold all along:
the decision needs only the newest threshold + 1 arrival times. The time a storm ended is
when the oldest of those left the window; the beat's sweep writes it for a storm whose
groups stopped coming (``end_quiet_storms``), the next new group otherwise.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from incidents import actions as incident_actions
from incidents import entry_texts
from incidents.models import OPEN_STATUSES, EntryKind

from ..models import AlertGroup, AlertStorm, Integration


@transaction.atomic
def set_storm_threshold(integration: Integration, *, threshold: int, window: int) -> Integration:
    """Change when the integration's new alert groups fold (threshold 0: never). A storm
    folding now goes on or ends by the new setting at the next new group or sweep."""
    integration.storm_threshold = threshold
    integration.storm_window = window
    integration.save(update_fields=["storm_threshold", "storm_window"])
    return integration


def open_storm(integration: Integration) -> AlertStorm | None:
    return (
        AlertStorm.objects.filter(integration=integration, ended_at__isnull=True)
        .select_related("incident")
        .first()
    )


def _newest_times(integration: Integration, count: int) -> list[datetime]:
    """The arrival times of the integration's newest ``count`` new groups, ascending:
    all the rule needs to know."""
    times = (
        AlertGroup.objects.filter(integration=integration, maintenance__isnull=True)
        .order_by("-first_seen_at")
        .values_list("first_seen_at", flat=True)[:count]
    )
    return sorted(times)


class StormGate:
    """The storm rule for one batch of one integration (under the lock on its row): it
    reads the recent arrival times and the open storm once, then decides in memory and
    writes the storm's count once at the end (``write``)."""

    def __init__(self, integration: Integration, bot: User) -> None:
        self.integration = integration
        self.bot = bot
        self.threshold = integration.storm_threshold
        self.window = timedelta(minutes=integration.storm_window)
        self._recent: list[datetime] | None = None
        self.storm: AlertStorm | None = None
        self.joined = 0

    def arrive(self, at: datetime) -> bool:
        """Count a new group arriving at ``at`` (before it is stored); whether it folds
        into the storm (which ``storm_for`` gives). Ends an open storm when the rate
        fell back under the threshold before this group came."""
        recent = self._load()
        count = sum(1 for seen in recent if seen > at - self.window) + 1
        if self.storm is not None and (self.threshold == 0 or count <= self.threshold + 1):
            ended = recent[0] + self.window if len(recent) > self.threshold else at
            self._end(min(ended, at))
        bisect.insort(recent, at)
        del recent[: max(0, len(recent) - self.threshold - 1)]
        return self.threshold > 0 and count > self.threshold

    def storm_for(self, at: datetime, *, severity: int, summary: str) -> AlertStorm:
        """The storm a folding group joins: the open one, or one opened now (paging once)
        when none is open or people already closed its incident."""
        if self.storm is not None and self.storm.incident.status not in OPEN_STATUSES:
            self._end(at)
        if self.storm is None:
            self.storm = self._open(at, severity=severity, summary=summary)
        self.joined += 1
        self.storm.last_group_at = max(self.storm.last_group_at, at)
        return self.storm

    def write(self) -> None:
        if self.storm is not None and self.joined:
            AlertStorm.objects.filter(pk=self.storm.pk).update(
                group_count=F("group_count") + self.joined, last_group_at=self.storm.last_group_at
            )
            self.storm.group_count += self.joined
        self.joined = 0

    def _load(self) -> list[datetime]:
        if self._recent is None:
            self.storm = open_storm(self.integration)
            self._recent = _newest_times(self.integration, self.threshold + 1)
        return self._recent

    def _open(self, at: datetime, *, severity: int, summary: str) -> AlertStorm:
        integration = self.integration
        threshold, minutes = self.threshold, integration.storm_window
        incident = incident_actions.create_incident(
            by=self.bot,
            summary=f"Alert storm: {integration.name}"[:200],
            description=(
                f"More than {threshold} new alert groups came from the {integration.name} "
                f"integration within {minutes} minutes. Each further new group joins this "
                f"incident instead of opening one and paging; the Alerts panel lists them. "
                f"The first was: {summary}"
            ),
            severity=severity,
            faulty_service=integration.service,
            affected_products=list(integration.affected_products.all()),
            detected_at=at,
        )
        storm = AlertStorm.objects.create(
            integration=integration,
            incident=incident,
            started_at=at,
            last_group_at=at,
            threshold=threshold,
            window=minutes,
        )
        note = entry_texts.facts(
            "storm.started", threshold=threshold, minutes=minutes, integration=integration.name
        )
        incident_actions.add_timeline_entry(
            incident,
            kind=EntryKind.NOTE,
            by=self.bot,
            occurred_at=at,
            text=entry_texts.english(note),
            data=note,
        )
        return storm

    def _end(self, at: datetime) -> None:
        storm = self.storm
        assert storm is not None
        self.write()
        end_storm(storm, at=at, by=self.bot)
        self.storm = None


def end_storm(storm: AlertStorm, *, at: datetime, by: User) -> bool:
    """Stop folding into the storm (the rate fell back, or its incident was closed); its
    incident stays as people left it. False when it had ended already."""
    if not AlertStorm.objects.filter(pk=storm.pk, ended_at__isnull=True).update(ended_at=at):
        return False
    storm.ended_at = at
    count = AlertStorm.objects.values_list("group_count", flat=True).get(pk=storm.pk)
    note = entry_texts.facts("storm.ended", count=count, integration=storm.integration.name)
    incident_actions.add_timeline_entry(
        storm.incident,
        kind=EntryKind.NOTE,
        by=by,
        occurred_at=at,
        text=entry_texts.english(note),
        data=note,
    )
    return True


def end_quiet_storms(bot: Callable[[], User]) -> int:
    """End the storms whose integrations' rate fell back under the threshold since their
    last group (nothing new arrived to end them); how many ended. Each integration is
    skipped while a batch holds it: that batch ends its storm when it needs to.

    Run by the beat, not after each batch: the end it writes is the time the rate fell,
    whenever it runs, and a storm's window is minutes long, so the wake-ups of a storm
    (two a second) need not read the open storms each time."""
    ended = 0
    now = timezone.now()
    open_storms = AlertStorm.objects.filter(ended_at__isnull=True)
    for pk, integration_id in open_storms.values_list("pk", "integration_id"):
        with transaction.atomic():
            # The integration's lock first, as a batch takes it; its batch ends the
            # storm itself when it must.
            integration = (
                Integration.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(pk=integration_id)
                .first()
            )
            storm = (
                open_storms.select_related("integration", "incident").filter(pk=pk).first()
                if integration is not None
                else None
            )
            if integration is None or storm is None:
                continue
            threshold = integration.storm_threshold
            window = timedelta(minutes=integration.storm_window)
            recent = _newest_times(integration, threshold + 1)
            folding = threshold > 0 and len(recent) > threshold
            if folding and recent[0] > now - window:
                continue
            # The rate fell to the threshold when the oldest of its newest groups left
            # the window (now when folding was turned off or the threshold raised).
            at = recent[0] + window if folding else now
            ended += end_storm(storm, at=max(at, storm.last_group_at), by=bot())
    return ended
