"""The outbox: rows written in the transaction that causes them, enqueued after commit,
delivered at most once at a time, every attempt recorded on the row (DESIGN rules 1, 2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import TypeVar, cast

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .content import site_url
from .mail import Reader, speaking
from .models import ChatMessage, Delivery, OutboundEmail, OutboxRow, WebhookDelivery
from .transports import TransportError
from .transports import chat as chat_transport
from .transports import email as email_transport
from .transports import webhook as webhook_transport

__all__ = ["TransportError"]

# A worker that died mid-send leaves its row "sending"; after this lease another may try.
SEND_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8

Row = TypeVar("Row", bound=OutboxRow)


def queue(model: type[Row], rows: list[Row], task_name: str) -> None:
    """Write the rows in the caller's transaction; enqueue their sends once it commits."""
    if not rows:
        return
    # One insert for a whole mailing; PostgreSQL and SQLite both return the new ids.
    created = model._default_manager.bulk_create(rows, batch_size=500)
    for row in created:
        # robust: a broker outage must not fail the committed change; the sweep sends it.
        transaction.on_commit(partial(_enqueue, task_name, row.pk), robust=True)


def _enqueue(task_name: str, pk: int) -> None:
    from . import tasks

    getattr(tasks, task_name).delay(pk)


def deliver(model: type[Row], pk: int, send: Callable[[Row], str]) -> str:
    """Send one outbox row at most once at a time; the row records how it went.

    The conditional UPDATE is the claim: a second task for the same row, or one
    redelivered after a worker died, finds nothing to do while the lease holds.
    """
    now = timezone.now()
    claimed = (
        model._default_manager.filter(pk=pk)
        .filter(
            Q(status=Delivery.PENDING) | Q(status=Delivery.SENDING, claimed_at__lt=now - SEND_LEASE)
        )
        .update(status=Delivery.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "nothing to do"
    row = model._default_manager.get(pk=pk)
    try:
        receipt = send(row)
    except TransportError as error:
        failed = error.permanent or row.attempts >= MAX_ATTEMPTS
        model._default_manager.filter(pk=pk).update(
            status=Delivery.FAILED if failed else Delivery.PENDING, last_error=str(error)[:2000]
        )
        if failed:
            return f"failed: {error}"
        raise
    model._default_manager.filter(pk=pk).update(
        status=Delivery.SENT, sent_at=timezone.now(), receipt=receipt[:200], last_error=""
    )
    return receipt


def send_email_row(row: OutboundEmail) -> str:
    return email_transport.send(
        email_transport.Email(
            to=[row.to],
            subject=row.subject,
            text=row.text,
            html=row.html,
            message_id=row.message_id,
            headers=row.headers,
        )
    )


def send_chat_row(row: ChatMessage) -> str:
    hook = row.webhook
    # The text was written in the room's language; so is the button the format adds.
    with speaking(Reader(hook.language)):
        return chat_transport.send(
            hook.url,
            row.text,
            fmt=cast(chat_transport.ChatFormat, hook.format),
            title=row.title,
            idempotency_key=row.idempotency_key,
            link=site_url(row.incident.get_absolute_url()),
        )


def send_webhook_row(row: WebhookDelivery) -> str:
    return webhook_transport.send(
        row.webhook.url,
        row.payload,
        idempotency_key=str(row.event_id),
        secret=row.webhook.secret,
        headers={"X-Hotline-Event": row.event, "X-Hotline-Event-Id": str(row.event_id)},
    )


def pending_rows(model: type[OutboxRow], *, limit: int = 500) -> list[int]:
    """Rows a sweep should (re)enqueue: pending ones, and sends whose lease ran out."""
    stale = timezone.now() - SEND_LEASE
    return list(
        model._default_manager.filter(
            Q(status=Delivery.PENDING) | Q(status=Delivery.SENDING, claimed_at__lt=stale)
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
