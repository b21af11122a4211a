"""Delivering one page over the recipient's contact methods, at most once per channel.

A delivery claims the page with a conditional UPDATE (state pending, nobody holding it,
due now): of two workers given the same page, one sends and the other returns. A
channel that accepted the page is never sent to again: the next attempt only retries
the channels still failing, each on a capped exponential backoff (a due time on the row,
``next_attempt_at``, which the sweep hands to a worker) until it gives up. The claim is a
short lease that a heartbeat renews while the delivery is in flight: a killed worker's
page is sent again within seconds. Receivers get the page's idempotency key
(``Idempotency-Key`` header, e-mail ``Message-ID``) to drop that repeat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import DatabaseError, connection, connections
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from comms.content import site_url
from comms.transports import TransportError, chat, email, webhook

from . import actions
from .models import ContactKind, Page
from .personal import rules

ACK_SALT = "oncall.acknowledge"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Channel:
    kind: str
    target: str
    secret: str = ""
    # Sent this long after the page was written (the person's notification rule).
    delay: timedelta = timedelta(0)


def ack_token(page: Page) -> str:
    return signing.TimestampSigner(salt=ACK_SALT).sign(str(page.pk))


def page_from_token(token: str) -> int:
    """The page id in a signed acknowledge link; raises ``signing.BadSignature`` (or
    ``SignatureExpired``) for a forged or stale link."""
    value = signing.TimestampSigner(salt=ACK_SALT).unsign(
        token, max_age=settings.ONCALL_ACK_LINK_MAX_AGE
    )
    return int(value)


def language_of(person: User | None) -> str:
    """The language a page to ``person`` is written in: the one they chose, else the
    portal's (a team address, or nobody chose: a page has no browser to ask)."""
    preferences = getattr(person, "preferences", None)  # missing until they save one
    return (preferences.language if preferences else "") or settings.LANGUAGE_CODE


def page_text(page: Page) -> tuple[str, str]:
    """Subject and body in the active language: the issue key, the severity and the
    summary, and two links."""
    incident = page.incident
    subject = f"{incident.key} - {incident.severity} - {incident.summary}"
    lines = [
        _("%(reason)s: %(subject)s") % {"reason": page.get_reason_display(), "subject": subject}
    ]
    if page.message:
        lines.append(_("Message: %(message)s") % {"message": page.message})
    lines.append(_("Incident: %(url)s") % {"url": site_url(incident.get_absolute_url())})
    if page.user_id:
        ack = reverse("oncall:acknowledge_link", args=[ack_token(page)])
        lines.append(_("Acknowledge: %(url)s") % {"url": site_url(ack)})
    return subject, "\n".join(lines)


def channels(page: Page) -> list[Channel]:
    if page.user is None:
        return [Channel(ContactKind.EMAIL, page.address)]
    chained = rules.chain(page.user, page.incident.severity)
    if chained:
        return [Channel(m.kind, m.target, m.secret, delay) for m, delay in chained]
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
                subject=_("[PAGE] %(subject)s") % {"subject": subject},
                text=text,
                message_id=email.message_id(f"page-{key}"),
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


def _claim(page_id: int) -> int | None:
    """Take the page for one attempt; returns the attempt's number, or None when the page
    is settled, not due, or held by another worker."""
    now = timezone.now()
    lease = timedelta(seconds=settings.ONCALL_DELIVERY_LEASE_SECONDS)
    claimed = (
        Page.objects.claimable(now)
        .filter(pk=page_id)
        .update(claimed_until=now + lease, offered_until=None, attempt_count=F("attempt_count") + 1)
    )
    if not claimed:
        return None
    return Page.objects.values_list("attempt_count", flat=True).get(pk=page_id)


@contextmanager
def _heartbeat(page_id: int, number: int) -> Iterator[None]:
    """Renew the short lease every third of it while the delivery is in flight, so a
    slow receiver keeps its page while a killed worker's page is free within the lease.
    A database error (a restart, a dropped connection) is logged and the next beat tries
    again on a new connection: the thread never dies silently, leaving the lease to run
    out under a delivery still in flight.

    Inside an outer transaction (a test calling ``deliver`` directly) the claim is not
    committed yet: no other connection sees it, so there is nothing to renew."""
    if connection.in_atomic_block:
        yield
        return
    stop = threading.Event()
    every = settings.ONCALL_DELIVERY_LEASE_SECONDS / 3

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    actions.renew_lease(page_id, number)
                except DatabaseError:
                    log.exception("page %s: could not renew the delivery lease", page_id)
                    connections.close_all()  # reconnect at the next beat
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"page-{page_id}-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def deliver(page_id: int) -> tuple[str, float | None]:
    """Try the page once; returns what happened and, to retry, in how many seconds (the
    row's ``next_attempt_at``: the sweep hands the page to a worker then)."""
    number = _claim(page_id)
    if number is None:
        return "nothing to do: delivered, settled or held by another worker", None
    with _heartbeat(page_id, number):
        return _attempt(page_id, number)


def _attempt(page_id: int, number: int) -> tuple[str, float | None]:
    page = Page.objects.select_related("incident", "user__preferences").get(pk=page_id)
    if page.user is None and page.incident.restricted:
        # Written before the incident was restricted: its key and summary no longer go
        # to an address that is nobody involved (a team's address).
        actions.cancel_page(page_id, actions.because("why.team_address_restricted"), number=number)
        return "cancelled: the incident is restricted; a team address is not paged", None
    # Each page in its recipient's language; links and machine values stay as they are.
    language = language_of(page.user)
    with translation.override(language):
        subject, text = page_text(page)
    earlier = list(page.attempts.all())
    tried = [a for a in earlier if a.ok or a.gave_up]
    delivered = {(a.channel, a.target) for a in tried if a.ok}
    settled = {(a.channel, a.target) for a in tried}
    todo = [c for c in channels(page) if (c.kind, c.target) not in settled]
    now = timezone.now()
    # A rule's later channels wait for their time; acknowledging first settles the page
    # and they are never sent.
    waiting = [c for c in todo if page.created_at + c.delay > now]
    seen = {(a.channel, a.target) for a in earlier}
    first_tries = [c for c in todo if c not in waiting and (c.kind, c.target) not in seen]
    if not todo and not settled:
        actions.page_reached_nobody(page_id)
        actions.mark_failed(page_id, actions.because("why.no_contact"), number=number)
        return "failed: no way to reach them", None
    backoff = settings.ONCALL_RETRY_BACKOFF
    last_try = number > len(backoff)
    retrying: list[str] = []
    failed: list[str] = []
    for channel in todo:
        if channel in waiting:
            continue
        try:
            with translation.override(language):
                result = _send(page, channel, subject, text)
            ok, permanent = True, False
        except TransportError as error:
            result, ok, permanent = str(error), False, error.permanent
        gave_up = not ok and (permanent or last_try)
        attempt = actions.record_attempt(
            page,
            channel=channel.kind,
            target=channel.target,
            number=number,
            ok=ok,
            result=result,
            gave_up=gave_up,
        )
        if ok:
            delivered.add((channel.kind, channel.target))
        else:
            # The result as recorded: a webhook's URL (a credential) named by its host.
            (failed if gave_up else retrying).append(f"{channel.kind}: {attempt.result}")
    # The attempt that first tried the last channels due (not attempt 1: its worker may
    # have died before sending), with nothing delivered and no rule left to wait for,
    # reached nobody: the escalation moves on now.
    if first_tries and not delivered and not waiting:
        actions.page_reached_nobody(page_id)
    due_in = [float(backoff[number - 1])] if retrying else []
    if waiting:
        due_in.append(min((page.created_at + c.delay - now).total_seconds() for c in waiting))
    if due_in:
        delay = max(min(due_in), 0.0)
        actions.schedule_retry(page_id, delay, number=number)
        if retrying:
            return f"attempt {number} failed ({'; '.join(retrying)})", delay
        return f"attempt {number}: {len(waiting)} channel(s) wait for their rule", delay
    if delivered:
        actions.mark_sent(page_id, number=number)
        return f"sent on attempt {number}", None
    actions.mark_failed(page_id, "; ".join(failed), number=number)
    return f"failed after {number} attempts", None
