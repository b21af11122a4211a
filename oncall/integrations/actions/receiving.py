"""Receiving (the request): a delivery stored as pending alerts, one statement each
(``_store``: finding the integration by its key and storing), and the worker woken once
per burst (``wake_worker``). The module keeps the per-process wake-up state
(``_woken_until``)."""

from __future__ import annotations

import functools
import math
import time
from datetime import UTC, datetime
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from ..formats import Event, clip
from ..models import EVENT_FIELDS, Alert, AlertOutcome, Integration

# Wake-ups run at the boundaries of slots this long, one queued run per slot however
# many processes store alerts in it: a storm costs the worker a few runs a second, not
# one per alert (and leaves the CPU to the requests). New alerts wait at most this long
# (and a margin) for their incident; half of it on average.
WAKE_SLOT_SECONDS = 0.5
# The cache key that says a slot's run is queued (the slot's number appended), and how
# long it stays: a broker down when it was set loses that one run, which the next slot
# or the beat's sweep makes up for.
WAKE_KEY = "alerts:wake:"
WAKE_KEY_SECONDS = 30
# How much earlier than the slot's start a process stops relying on its run: covers the
# clock skew between nodes (NTP keeps it to milliseconds).
WAKE_MARGIN_SECONDS = 0.05


def _bounded_payload(raw: bytes | str) -> tuple[str, bool]:
    """The payload as stored: at most ALERTS_PAYLOAD_MAX_CHARS, so a storm of huge
    bodies cannot fill the database."""
    body = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    # A refused body may hold a NUL, which PostgreSQL stores in no text: shown replaced.
    body = body.replace("\x00", "\ufffd")
    limit = settings.ALERTS_PAYLOAD_MAX_CHARS
    if len(body) <= limit:
        return body, False
    return body[:limit], True


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
    payload, truncated = _bounded_payload(raw)
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


# Until when (this process's clock) every alert it stores is read by a run already
# queued.
_woken_until = 0.0


def wake_worker() -> None:
    """Make sure a run of ``process_alerts`` reads the alert just stored, touching the
    cache and the broker once per slot and process, never per request.

    A run queued for a slot starts at the slot's boundary or later (its ETA), so it
    reads every alert committed before then: until a margin before the boundary this
    process relies on it, without asking anyone. Then it takes the next slot: the first
    process to add the slot's key queues its run, the others find the key and rely on
    that run. A run that starts late (a busy worker) reads later still, so nothing
    depends on it having started or finished: a backlog costs the requests nothing."""
    from ..tasks import process_alerts

    global _woken_until
    now = time.time()
    if now < _woken_until:
        return
    slot = math.floor((now + WAKE_MARGIN_SECONDS) / WAKE_SLOT_SECONDS) + 1
    starts = slot * WAKE_SLOT_SECONDS
    if cache.add(f"{WAKE_KEY}{slot}", True, timeout=WAKE_KEY_SECONDS):
        process_alerts.apply_async(eta=datetime.fromtimestamp(starts, UTC))
    _woken_until = starts - WAKE_MARGIN_SECONDS
