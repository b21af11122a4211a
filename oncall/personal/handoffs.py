"""Hand-off notices, their write path: at each shift start the incoming person gets an
e-mail and the team's chat a line, "you are on call for Payments until Mon 9 Mar 09:00
Europe/Paris", in the roster's zone.

Driven from the database by a beat task (DESIGN rule 1): each tick computes the shift
starts of the last ``LOOKBACK`` from the rosters, writes one ``HandoffNotice`` per start
(unique per roster and instant: a second tick, or a second beat, writes nothing) and
queues the e-mail in the same transaction; the chat line is the notice row itself, an
outbox row sent after commit. Starts older than the look-back (beat was down for long)
are not told late: a notice hours after the hand-off says nothing useful.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from itertools import pairwise

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from comms.content import site_url
from comms.mail import Reader, reader_of, speaking
from comms.models import ChatWebhook, Delivery, OutboundEmail
from comms.outbox import queue
from comms.transports import chat

from .. import schedule, selectors
from ..models import Roster
from .models import HandoffNotice
from .swaps import local_text

LOOKBACK = timedelta(minutes=15)
# How far ahead to look for the end of the shift just started.
HORIZON = timedelta(days=62)


def due_starts(roster: Roster, now: datetime) -> list[schedule.Slot]:
    """Shifts of the roster that began in (now - LOOKBACK, now] with someone on call,
    each with its real end (not cut at ``now``)."""
    slots = schedule.schedule(roster, now - LOOKBACK, now + HORIZON)
    starts = []
    for previous, slot in pairwise(slots):
        if slot.starts_at > now:
            break
        if slot.user is not None and slot.user != previous.user:
            starts.append(slot)
    return starts


def _chat_destination(roster: Roster) -> ChatWebhook | None:
    if roster.team_id is None:
        return None
    return ChatWebhook.objects.filter(team_id=roster.team_id, active=True).first()


def send_due_notices(now: datetime | None = None) -> int:
    """Write the notices of the shifts just started; returns how many were new."""
    now = now or timezone.now()
    written = 0
    for roster in selectors.rosters_for_schedule():
        for slot in due_starts(roster, now):
            if slot.user is not None and _notify(roster, slot, slot.user):
                written += 1
    return written


def _values(roster: Roster, slot: schedule.Slot, user: User) -> dict[str, str]:
    until = local_text(slot.ends_at, roster.time_zone)
    return {"person": user.get_username(), "roster": roster.name, "until": until}


def _notify(roster: Roster, slot: schedule.Slot, user: User) -> bool:
    if HandoffNotice.objects.filter(roster=roster, starts_at=slot.starts_at).exists():
        return False
    webhook = _chat_destination(roster)
    # The chat line in the room's language, the mail in the person's: each reads its own.
    with speaking(Reader(webhook.language if webhook else "")):
        line = _("%(person)s is on call for %(roster)s until %(until)s.") % _values(
            roster, slot, user
        )
    try:
        with transaction.atomic():
            notice = HandoffNotice.objects.create(
                roster=roster,
                user=user,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                webhook=webhook,
                text=line[:300],
                # Nothing to post when the team has no chat: the row is only the notice.
                status=Delivery.PENDING if webhook else Delivery.SENT,
                receipt="" if webhook else "no chat destination",
            )
            if user.email:
                url = site_url(reverse("oncall:roster", args=[roster.slug]))
                with speaking(reader_of(user)):
                    values = _values(roster, slot, user)
                    subject = _("You are on call for %(roster)s") % values
                    text = _("You are on call for %(roster)s until %(until)s.") % values
                queue(
                    OutboundEmail,
                    [
                        OutboundEmail(
                            to=user.email,
                            subject=subject,
                            text=f"{text}\n\n{url}\n",
                            message_id=f"<handoff-{notice.pk}@{settings.COMMS_MESSAGE_ID_DOMAIN}>",
                        )
                    ],
                    "send_email",
                )
            if webhook is not None:
                from .tasks import post_handoff_notice

                transaction.on_commit(partial(post_handoff_notice.delay, notice.pk), robust=True)
    except IntegrityError:
        return False  # another beat wrote it first
    return True


def post_to_chat(notice: HandoffNotice) -> str:
    hook = notice.webhook
    if hook is None:
        return "no chat destination"
    with speaking(Reader(hook.language)):
        title = _("On-call hand-off")
    return chat.send(
        hook.url,
        notice.text,
        fmt=hook.format,  # type: ignore[arg-type]  # a ChatFormat value, stored as text
        title=title,
        idempotency_key=f"handoff-{notice.pk}",
    )
