"""Delivering one page over the recipient's contact methods, at most once per channel.

A delivery claims the page with a conditional UPDATE (state pending, nobody holding it,
due now): of two workers given the same page, one sends and the other returns. A
channel that accepted the page is never sent to again: the next attempt only retries
the channels that failed. Receivers get the page's idempotency key (``Idempotency-Key``
header, e-mail ``Message-ID``) to drop the repeat a killed worker may cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from comms.content import site_url
from comms.transports import TransportError, chat, email, webhook

from . import actions
from .models import ContactKind, DeliveryAttempt, Page

ACK_SALT = "oncall.acknowledge"


@dataclass(frozen=True)
class Channel:
    kind: str
    target: str
    secret: str = ""


def ack_token(page: Page) -> str:
    return signing.TimestampSigner(salt=ACK_SALT).sign(str(page.pk))


def page_from_token(token: str) -> int:
    """The page id in a signed acknowledge link; raises ``signing.BadSignature`` (or
    ``SignatureExpired``) for a forged or stale link."""
    value = signing.TimestampSigner(salt=ACK_SALT).unsign(
        token, max_age=settings.ONCALL_ACK_LINK_MAX_AGE
    )
    return int(value)


def page_text(page: Page) -> tuple[str, str]:
    """Subject and body: the issue key, the severity and the summary, and two links."""
    incident = page.incident
    subject = f"{incident.key} - {incident.severity} - {incident.summary}"
    lines = [f"{page.get_reason_display()}: {subject}"]
    if page.message:
        lines.append(f"Message: {page.message}")
    lines.append(f"Incident: {site_url(incident.get_absolute_url())}")
    if page.user_id:
        ack = reverse("oncall:acknowledge_link", args=[ack_token(page)])
        lines.append(f"Acknowledge: {site_url(ack)}")
    return subject, "\n".join(lines)


def channels(page: Page) -> list[Channel]:
    if page.user is None:
        return [Channel(ContactKind.EMAIL, page.address)]
    methods = [Channel(m.kind, m.target, m.secret) for m in page.user.contact_methods.all()]
    if not methods and page.user.email:
        # Nobody goes unpaged for not having chosen a method: their account e-mail.
        methods = [Channel(ContactKind.EMAIL, page.user.email)]
    return methods


def _send(page: Page, channel: Channel, subject: str, text: str) -> str:
    key = str(page.idempotency_key)
    if channel.kind == ContactKind.EMAIL:
        return email.send(
            email.Email(
                to=[channel.target],
                subject=f"[PAGE] {subject}",
                text=text,
                message_id=f"<page-{key}@hotline>",
                headers={"X-Hotline-Idempotency-Key": key},
            )
        )
    if channel.kind == ContactKind.SLACK:
        return chat.send(channel.target, text, fmt="slack", idempotency_key=key, title=subject)
    payload = {
        "type": "page",
        "idempotency_key": key,
        "incident": {
            "key": page.incident.key,
            "severity": page.incident.severity,
            "summary": page.incident.summary,
            "url": site_url(page.incident.get_absolute_url()),
        },
        "reason": page.reason,
        "message": page.message,
        "text": text,
    }
    return webhook.send(channel.target, payload, idempotency_key=key, secret=channel.secret)


def _claim(page_id: int) -> bool:
    now = timezone.now()
    lease = timedelta(seconds=settings.ONCALL_DELIVERY_LEASE_SECONDS)
    return bool(
        Page.objects.claimable(now)
        .filter(pk=page_id)
        .update(claimed_until=now + lease, attempt_count=F("attempt_count") + 1)
    )


def deliver(page_id: int) -> tuple[str, float | None]:
    """Try the page once; returns what happened and, to retry, in how many seconds."""
    if not _claim(page_id):
        return "nothing to do: delivered, settled or held by another worker", None
    page = Page.objects.select_related("incident", "user").get(pk=page_id)
    subject, text = page_text(page)
    done = set(page.attempts.filter(ok=True).values_list("channel", "target"))
    todo = [c for c in channels(page) if (c.kind, c.target) not in done]
    if not todo and not done:
        actions.mark_failed(page_id, "no contact method and no e-mail address")
        return "failed: no way to reach them", None
    transient: list[str] = []
    permanent: list[str] = []
    for channel in todo:
        try:
            result, ok = _send(page, channel, subject, text), True
        except TransportError as error:
            result, ok = str(error), False
            (permanent if error.permanent else transient).append(f"{channel.kind}: {error}")
        DeliveryAttempt.objects.create(
            page=page,
            channel=channel.kind,
            target=channel.target,
            number=page.attempt_count,
            ok=ok,
            result=result[:300],
        )
        if ok:
            done.add((channel.kind, channel.target))
    backoff = settings.ONCALL_RETRY_BACKOFF
    if transient and page.attempt_count <= len(backoff):
        delay = backoff[page.attempt_count - 1]
        actions.schedule_retry(page_id, delay)
        return f"attempt {page.attempt_count} failed ({'; '.join(transient)})", delay
    if done:
        actions.mark_sent(page_id)
        return f"sent on attempt {page.attempt_count}", None
    actions.mark_failed(page_id, "; ".join(permanent + transient))
    return f"failed after {page.attempt_count} attempts", None
