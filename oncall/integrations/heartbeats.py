"""Heartbeats: a job or monitor pings ``/integrations/heartbeat/<key>/`` every interval.

A missed ping is an alert like any other: the beat's sweep stores a ``trigger`` event for
the integration (through ``actions.receive``, the receivers' path), and the worker turns
it into an alert group and an incident, which pages on-call for severity 1-2 (the
integration's default severity). The next ping stores the ``resolve`` event, so the
group resolves and the incident gets its impact end as with any tool's resolve.

The deadline is a column (``next_expected_at`` plus the grace), claimed by the sweep with
``select_for_update(skip_locked=True)``; a heartbeat marked missed is not due again until
a ping, so a second sweep changes nothing. A ping locks the same row, so a ping racing
the sweep either comes first (nothing is missed) or waits and then resolves.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from incidents.actions import ActionRefused

from .actions import receive
from .formats import RESOLVE, TRIGGER, Event
from .heartbeat_models import Heartbeat, HeartbeatState
from .models import Integration

logger = logging.getLogger(__name__)

FORMAT = "heartbeat"
# One group per integration: a heartbeat is one thing that is up or not.
DEDUP_KEY = "heartbeat"
MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(days=31)
MAX_GRACE = timedelta(days=1)
SWEEP_BATCH = 100
# Bounds one sweep when heartbeats keep failing to record (see ``_miss``).
SWEEP_MAX_BATCHES = 20


class _KeyRotated(Exception):
    """The integration's key changed between reading it and storing the alert."""


def _validate(interval: timedelta, grace: timedelta) -> None:
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise ActionRefused(
            _("The interval is between 1 minute and 31 days."), field="interval_minutes"
        )
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise ActionRefused(_("The grace is between 0 minutes and 1 day."), field="grace_minutes")


@transaction.atomic
def set_heartbeat(
    integration: Integration, *, by: User, interval: timedelta, grace: timedelta
) -> Heartbeat:
    """Expect a ping every ``interval`` (late by ``grace`` at most). Changing it plans
    the next deadline from the last ping, or from now before the first."""
    _validate(interval, grace)
    now = timezone.now()
    heartbeat = Heartbeat.objects.select_for_update().filter(integration=integration).first()
    if heartbeat is None:
        return Heartbeat.objects.create(
            integration=integration, interval=interval, grace=grace, next_expected_at=now + interval
        )
    heartbeat.interval, heartbeat.grace = interval, grace
    heartbeat.next_expected_at = (heartbeat.last_ping_at or now) + interval
    heartbeat.save(update_fields=["interval", "grace", "next_expected_at"])
    return heartbeat


@transaction.atomic
def remove_heartbeat(integration: Integration, *, by: User) -> bool:
    """Stop expecting pings; an alert group open for a missed ping is resolved, as a
    ping would. False when there was no heartbeat."""
    # Locked first so that a key rotation waits: the resolve is stored under the key.
    Integration.objects.select_for_update().get(pk=integration.pk)
    heartbeat = (
        Heartbeat.objects.select_for_update()
        .select_related("integration")
        .filter(integration=integration)
        .first()
    )
    if heartbeat is None:
        return False
    if heartbeat.state == HeartbeatState.MISSED:
        _store(
            heartbeat,
            RESOLVE,
            _("Heartbeat of %(name)s turned off by %(who)s")
            % {"name": integration.name, "who": by.get_username()},
            timezone.now(),
        )
    heartbeat.delete()
    return True


def record_ping(key_hash: str) -> Heartbeat | None:
    """A ping, found by the hash of the integration key; None when no integration with
    that key expects one. A ping after a missed one resolves its alert group."""
    try:
        return _ping(key_hash)
    except _KeyRotated:
        # The key was rotated while this ping was recorded: it is no key any more.
        return None


@transaction.atomic
def _ping(key_hash: str) -> Heartbeat | None:
    heartbeat = (
        Heartbeat.objects.select_for_update(of=("self",))
        .select_related("integration")
        .filter(integration__key_hash=key_hash)
        .first()
    )
    if heartbeat is None:
        return None
    now = timezone.now()
    was_missed = heartbeat.state == HeartbeatState.MISSED
    heartbeat.state = HeartbeatState.UP
    heartbeat.last_ping_at = now
    heartbeat.next_expected_at = now + heartbeat.interval
    heartbeat.save(update_fields=["state", "last_ping_at", "next_expected_at"])
    if was_missed:
        name = heartbeat.integration.name
        _store(heartbeat, RESOLVE, _("Heartbeat of %(name)s is back") % {"name": name}, now)
    return heartbeat


def sweep(*, now: datetime | None = None) -> int:
    """Mark the heartbeats past their deadline missed and store an alert for each;
    returns how many. Safe on several beats at once (rows claimed with skip_locked)."""
    missed = 0
    for _batch in range(SWEEP_MAX_BATCHES):
        claimed, recorded = _sweep_batch(now or timezone.now())
        missed += recorded
        if claimed < SWEEP_BATCH:
            break
    return missed


@transaction.atomic
def _sweep_batch(now: datetime) -> tuple[int, int]:
    deadline = ExpressionWrapper(F("next_expected_at") + F("grace"), output_field=DateTimeField())
    due = list(
        Heartbeat.objects.exclude(state=HeartbeatState.MISSED)
        .alias(due_at=deadline)
        .filter(due_at__lte=now)
        .select_related("integration")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("next_expected_at")[:SWEEP_BATCH]
    )
    recorded = 0
    for heartbeat in due:
        try:
            with transaction.atomic():
                _miss(heartbeat, now)
            recorded += 1
        except _KeyRotated:
            # Left due: the next sweep reads the new key.
            logger.warning("Integration %s: key rotated during the heartbeat sweep", heartbeat.pk)
    return len(due), recorded


def _miss(heartbeat: Heartbeat, now: datetime) -> None:
    heartbeat.state = HeartbeatState.MISSED
    heartbeat.missed_at = now
    heartbeat.save(update_fields=["state", "missed_at"])
    name = heartbeat.integration.name
    if heartbeat.last_ping_at is None:
        summary = _("No heartbeat from %(name)s yet") % {"name": name}
    else:
        summary = _("No heartbeat from %(name)s since %(when)s") % {
            "name": name,
            "when": date_format(
                timezone.localtime(heartbeat.last_ping_at), "Y-m-d H:i T", use_l10n=False
            ),
        }
    _store(heartbeat, TRIGGER, summary, now)


def _store(heartbeat: Heartbeat, action: str, summary: str, now: datetime) -> None:
    """Store the event as a delivery of the integration: the worker applies it."""
    integration = heartbeat.integration
    minutes = heartbeat.interval_minutes
    description = _(
        "%(name)s pings every %(minutes)s minutes; the ping expected by %(expected)s "
        "(grace %(grace)s minutes) did not come."
    ) % {
        "name": integration.name,
        "minutes": minutes,
        "expected": heartbeat.next_expected_at.isoformat(timespec="seconds"),
        "grace": heartbeat.grace_minutes,
    }
    event = Event(
        action=action,
        dedup_key=DEDUP_KEY,
        summary=summary[:200],
        description=description if action == TRIGGER else "",
        source=FORMAT,
    )
    payload = {
        "action": action,
        "at": now.isoformat(timespec="seconds"),
        "interval_minutes": minutes,
        "grace_minutes": heartbeat.grace_minutes,
        "last_ping_at": heartbeat.last_ping_at.isoformat(timespec="seconds")
        if heartbeat.last_ping_at
        else None,
        "next_expected_at": heartbeat.next_expected_at.isoformat(timespec="seconds"),
    }
    if receive(integration.key_hash, FORMAT, json.dumps(payload), [event]) is None:
        raise _KeyRotated
